"""Live ticket page and queue: fingerprints, 304 answers, presence, the stale-write refusal."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.http import QueryDict
from django.urls import reverse

from msp import live
from msp.choices import Tier, UserRole
from msp.models import OutboxMessage
from tests.factories import ContactFactory, StaffFactory
from tests.helpers import signed_in
from tests.tickets.conftest import SUNDAY_NIGHT
from tickets import live as ticket_live
from tickets import services
from tickets.choices import EventKind
from tickets.models import Comment, Ticket, TimelineEvent
from tickets.timers.sweep import sla_sweep

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def state_of(user, ticket) -> tuple:
    return ticket_live.ticket_state(user=user, pk=ticket.pk)


class TestFingerprint:
    def test_unchanged_when_nothing_happens(self, p1, teams):
        user = p1.assignee
        assert state_of(user, p1) == state_of(user, p1)
        signed_in(user).get(reverse("tickets:detail", args=[p1.pk]))  # reading changes nothing
        first = state_of(user, p1)
        assert state_of(user, p1) == first

    def test_changes_on_a_reply(self, p1, teams):
        before = state_of(p1.assignee, p1)
        services.ticket_reply(ticket=p1, author=p1.assignee, body="On it", at=SUNDAY_NIGHT)
        assert state_of(p1.assignee, p1) != before

    def test_changes_on_a_note_with_the_same_instant(self, p1, teams):
        # Even a write stamped with an old instant moves the latest timeline entry id.
        before = state_of(p1.assignee, p1)
        TimelineEvent.objects.create(ticket=p1, kind=EventKind.ALERT, at=SUNDAY_NIGHT)
        after = state_of(p1.assignee, p1)
        assert after[0] == before[0] and after[1] != before[1]

    def test_changes_on_an_escalation_by_the_sweep(self, p1, teams):
        before = state_of(p1.assignee, p1)
        sla_sweep(now=SUNDAY_NIGHT + timedelta(minutes=15, seconds=1))
        assert Ticket.objects.get(pk=p1.pk).tier == Tier.L2
        assert state_of(p1.assignee, p1) != before

    def test_changes_on_an_assignment(self, p1, teams):
        before = state_of(p1.assignee, p1)
        other = teams[Tier.L1].lead
        services.ticket_assign(ticket=p1, actor=other, assignee=other)
        assert state_of(p1.assignee, p1) != before

    def test_none_for_a_ticket_out_of_scope(self, p1, client_b):
        outsider = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1, teams=[])
        assert state_of(outsider, p1) is None

    def test_fingerprint_is_stable_and_discriminating(self):
        assert live.fingerprint(1, None, "x") == live.fingerprint(1, None, "x")
        assert live.fingerprint(1, None, "x") != live.fingerprint(1, "", "y")
        assert live.fingerprint("a").startswith('"') and live.fingerprint("a").endswith('"')

    def test_queue_fingerprint_count_and_latest(self, p1, teams):
        user = p1.assignee
        open_tickets = Ticket.objects.for_user(user).open()

        def etag(query=""):
            return ticket_live.queue_fingerprint(
                user=user, tickets=open_tickets, query=QueryDict(query)
            )

        first = etag()
        assert first == etag("live=1")  # the poll's own marker is no part of what is shown
        # What a queue row shows lives on the ticket row, which every such change saves.
        services.ticket_change_priority(
            ticket=p1, actor=user, impact="low", urgency="low", priority=None, reason="fine"
        )
        second = etag()
        assert second != first
        assert etag("page=2") != second and etag("sort=-priority") != second


class TestTicketPoll:
    def url(self, ticket):
        return reverse("tickets:live", args=[ticket.pk])

    def test_304_while_unchanged_then_the_fragment_after_a_reply(self, p1, teams):
        http = signed_in(p1.assignee)
        page = http.get(reverse("tickets:detail", args=[p1.pk])).content.decode()
        first = http.get(self.url(p1), HTTP_HX_REQUEST="true")
        assert first.status_code == 200 and first["ETag"]
        # The page carries it: its first poll is already a 304.
        assert 'data-etag="{}"'.format(first["ETag"].replace('"', "&quot;")) in page
        again = http.get(self.url(p1), HTTP_HX_REQUEST="true", HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304 and again.content == b""
        services.ticket_reply(ticket=p1, author=teams[Tier.L1].lead, body="Rebooted the switch")
        changed = http.get(self.url(p1), HTTP_HX_REQUEST="true", HTTP_IF_NONE_MATCH=first["ETag"])
        assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
        body = changed.content.decode()
        assert "Rebooted the switch" in body
        # Out-of-band parts only, never the composers (what is typed there stays).
        assert 'id="ticket-timeline" hx-swap-oob="true"' in body
        assert 'id="ticket-header" hx-swap-oob="true"' in body
        assert "data-composer" not in body

    def test_weak_and_listed_etags_match(self, p1, teams):
        http = signed_in(p1.assignee)
        etag = http.get(self.url(p1))["ETag"]
        listed = f'"other", W/{etag}'
        assert http.get(self.url(p1), HTTP_IF_NONE_MATCH=listed).status_code == 304

    def test_poll_query_count_is_fixed(self, p1, teams, django_assert_num_queries):
        http = signed_in(p1.assignee)
        etag = http.get(self.url(p1))["ETag"]
        for index in range(5):
            services.ticket_note(ticket=p1, author=p1.assignee, body=f"note {index}")
        etag = http.get(self.url(p1))["ETag"]
        # session, user, visible clients, the ticket's state (one query with its latest entry).
        with django_assert_num_queries(4):
            assert http.get(self.url(p1), HTTP_IF_NONE_MATCH=etag).status_code == 304

    def test_other_clients_ticket_is_404_and_client_users_403(self, p1, client_b, client_user_a):
        outsider = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1, teams=[])
        assert signed_in(outsider).get(self.url(p1)).status_code == 404
        assert signed_in(client_user_a).get(self.url(p1)).status_code == 403

    def test_the_poll_does_not_keep_a_session_alive(self):
        from tickets.views import TicketLiveView

        assert TicketLiveView.session_passive


class TestPresence:
    def test_viewing_and_typing_shown_to_others_not_to_oneself(self, p1, teams):
        alex = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1, full_name="Alex Doe")
        sam = p1.assignee
        signed_in(alex).get(reverse("tickets:detail", args=[p1.pk]))
        page = signed_in(sam).get(reverse("tickets:detail", args=[p1.pk])).content.decode()
        assert "Alex Doe is viewing" in page and f"{sam.full_name} is" not in page
        signed_in(alex).get(reverse("tickets:live", args=[p1.pk]), {"state": "typing"})
        fragment = signed_in(sam).get(reverse("tickets:live", args=[p1.pk])).content.decode()
        assert "Alex Doe is replying" in fragment

    def test_presence_changes_the_etag(self, p1, teams):
        sam = signed_in(p1.assignee)
        etag = sam.get(reverse("tickets:live", args=[p1.pk]))["ETag"]
        alex = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1, full_name="Alex Doe")
        signed_in(alex).get(reverse("tickets:live", args=[p1.pk]))
        answer = sam.get(reverse("tickets:live", args=[p1.pk]), HTTP_IF_NONE_MATCH=etag)
        assert answer.status_code == 200 and "Alex Doe is viewing" in answer.content.decode()

    def test_expires_after_its_ttl(self, settings):
        settings.LIVE_PRESENCE_SECONDS = 20
        beat = {"kind": "ticket", "object_id": 7}
        live.presence_beat(**beat, user_id=1, name="Alex", state="viewing", now=1000.0)
        live.presence_beat(**beat, user_id=2, name="Sam", state="typing", now=1010.0)

        def names(at):
            return [p.name for p in live.presence_of(**beat, now=at)]

        assert names(1019.0) == ["Sam", "Alex"]  # typing first
        assert names(1020.0) == ["Sam"]  # Alex's heartbeat lapsed at 1020
        assert names(1030.0) == []
        assert live.presence_of(kind="ticket", object_id=8, now=1019.0) == []

    def test_leave_and_unknown_state(self):
        live.presence_beat(kind="ticket", object_id=7, user_id=1, name="Alex", state="bogus")
        assert [p.state for p in live.presence_of(kind="ticket", object_id=7)] == ["viewing"]
        live.presence_leave(kind="ticket", object_id=7, user_id=1)
        assert live.presence_of(kind="ticket", object_id=7) == []


class TestStaleWrite:
    def test_refused_with_the_text_kept_then_sent_on_the_second_try(self, p1, teams):
        sam = teams[Tier.L1].lead
        alex = p1.assignee
        http = signed_in(alex)
        page = http.get(reverse("tickets:detail", args=[p1.pk])).content.decode()
        seen = ticket_live.latest_event_id(p1)
        assert f'name="seen_event" value="{seen}"' in page
        services.ticket_reply(ticket=p1, author=sam, body="Sam answered")
        answer = http.post(
            reverse("tickets:reply", args=[p1.pk]),
            {"body": "My draft **reply**", "seen_event": seen},
        )
        assert answer.status_code == 409
        body = answer.content.decode()
        assert f"{sam.full_name} replied while you were typing - review and send again" in body
        assert "My draft **reply**" in body and "Sam answered" in body
        assert not Comment.objects.filter(body="My draft **reply**").exists()
        new_seen = ticket_live.latest_event_id(p1)
        assert f'name="seen_event" value="{new_seen}"' in body
        again = http.post(
            reverse("tickets:reply", args=[p1.pk]),
            {"body": "My draft **reply**", "seen_event": new_seen},
        )
        assert again.status_code == 302
        assert Comment.objects.filter(body="My draft **reply**", is_public=True).exists()

    def test_htmx_refusal_redraws_the_main_part_with_the_warning(self, p1, teams):
        sam = teams[Tier.L1].lead
        http = signed_in(p1.assignee)
        seen = ticket_live.latest_event_id(p1)
        services.ticket_note(ticket=p1, author=sam, body="Checked the logs")
        answer = http.post(
            reverse("tickets:note", args=[p1.pk]),
            {"body": "my note", "seen_event": seen},
            HTTP_HX_REQUEST="true",
        )
        body = answer.content.decode()
        assert answer.status_code == 200 and 'data-testid="stale-warning"' in body
        assert "data-composer-refused" in body and "my note" in body
        assert not Comment.objects.filter(body="my note").exists()

    def test_own_entries_and_other_changes_do_not_refuse(self, p1, teams):
        alex = p1.assignee
        seen = ticket_live.latest_event_id(p1)
        services.ticket_note(ticket=p1, author=alex, body="my own earlier note")
        services.ticket_escalate(ticket=p1, actor=teams[Tier.L1].lead, reason="needs L2")
        answer = signed_in(alex).post(
            reverse("tickets:reply", args=[p1.pk]), {"body": "fine", "seen_event": seen}
        )
        assert answer.status_code == 302

    def test_a_client_email_makes_it_stale(self, p1, teams):
        seen = ticket_live.latest_event_id(p1)
        services.ticket_client_message(
            ticket=p1, author=None, body="Still down!", email_sender="boss@client.example"
        )
        stale = ticket_live.stale_write_check(ticket=p1, user=p1.assignee, seen_event_id=seen)
        assert stale is not None and stale.names == ("boss@client.example",)

    def test_no_seen_event_no_check(self, p1, teams):
        assert (
            ticket_live.stale_write_check(ticket=p1, user=p1.assignee, seen_event_id=None) is None
        )


class TestQueuePoll:
    def test_304_while_unchanged_and_query_count_fixed(self, p1, teams, django_assert_num_queries):
        http = signed_in(p1.assignee)
        url = reverse("tickets:queue-live")
        params = {"queue": "all_open"}
        first = http.get(url, params, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-results")
        assert first.status_code == 200 and 'data-testid="queue"' in first.content.decode()
        assert "<html" not in first.content.decode()
        from tickets.views import QueueLiveView

        assert QueueLiveView.session_passive  # polling does not keep a session alive
        # session, user, visible clients, the queue's count and latest change.
        with django_assert_num_queries(4):
            same = http.get(
                url,
                params,
                HTTP_HX_REQUEST="true",
                HTTP_HX_TARGET="queue-results",
                HTTP_IF_NONE_MATCH=first["ETag"],
            )
        assert same.status_code == 304
        ContactFactory(client=p1.client)  # unrelated change: still 304
        assert (
            http.get(url, params, HTTP_HX_REQUEST="true", HTTP_IF_NONE_MATCH=first["ETag"])
        ).status_code == 304
        services.ticket_assign(ticket=p1, actor=p1.assignee, assignee=teams[Tier.L1].lead)
        changed = http.get(
            url,
            params,
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="queue-results",
            HTTP_IF_NONE_MATCH=first["ETag"],
        )
        assert (
            changed.status_code == 200 and teams[Tier.L1].lead.full_name in changed.content.decode()
        )


class TestNoteNeverEmails:
    def test_note_creates_no_outbound_mail(self, p1, teams, django_capture_on_commit_callbacks):
        assert p1.contact.email
        before = OutboxMessage.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            answer = signed_in(p1.assignee).post(
                reverse("tickets:note", args=[p1.pk]),
                {"body": "internal: the client's admin is hopeless"},
            )
        assert answer.status_code == 302
        comment = Comment.objects.get(body="internal: the client's admin is hopeless")
        assert comment.is_public is False
        assert OutboxMessage.objects.count() == before
        from django.core import mail

        assert mail.outbox == []

    def test_reply_does_email_the_contact(self, p1, teams, django_capture_on_commit_callbacks):
        before = OutboxMessage.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            signed_in(p1.assignee).post(reverse("tickets:reply", args=[p1.pk]), {"body": "hi"})
        assert OutboxMessage.objects.count() == before + 1
