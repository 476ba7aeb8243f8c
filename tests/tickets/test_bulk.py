"""Bulk changes from the queue: each ticket through its single-ticket service and checks, in
its own transaction, and one summary of what changed and what was refused (with why)."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from msp.choices import Tier, UserRole
from tests.factories import ClientFactory, StaffFactory, TeamFactory, TicketFactory
from tests.helpers import signed_in
from tickets import services
from tickets.choices import EventKind, TicketStatus
from tickets.models import Comment, Ticket, TimeEntry
from tickets.services import bulk

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(policy):
    """A dispatcher whose team serves client A only; A's tickets, one of them closed, and
    one ticket of client B."""
    alpha, bravo = ClientFactory(name="Alpha"), ClientFactory(name="Bravo")
    pod = TeamFactory(name="Pod A", tier=Tier.L1)
    pod.clients.set([alpha])
    dispatcher = StaffFactory(role=UserRole.DISPATCHER, tier="", teams=[pod])
    tech_a = StaffFactory(full_name="Ana Tech", tier=Tier.L1, teams=[pod])
    tech_b = StaffFactory(full_name="Bo Tech", tier=Tier.L1, teams=[TeamFactory(name="Pod B")])
    tech_b.teams.first().clients.set([bravo])
    open_a = [TicketFactory(client=alpha, subject=f"A{n}") for n in range(3)]
    closed_a = TicketFactory(client=alpha, subject="A closed")
    services.ticket_resolve(ticket=closed_a, actor=dispatcher, resolution="done")
    services.ticket_close(ticket=closed_a, actor=dispatcher)
    ticket_b = TicketFactory(client=bravo, subject="Bravo printer jam")
    return {
        "alpha": alpha,
        "bravo": bravo,
        "pod": pod,
        "dispatcher": dispatcher,
        "tech_a": tech_a,
        "tech_b": tech_b,
        "open_a": open_a,
        "closed_a": closed_a,
        "b": ticket_b,
    }


def _ids(world) -> list[int]:
    return [t.pk for t in world["open_a"]] + [world["closed_a"].pk, world["b"].pk, 999_999]


def test_bulk_assign_mixed_outcome(world):
    outcome = bulk.tickets_bulk_assign(
        actor=world["dispatcher"], ticket_ids=_ids(world), assignee=world["tech_a"]
    )
    open_ids = [t.pk for t in world["open_a"]]
    assert outcome.changed == open_ids
    refused = dict(outcome.refused)
    assert set(refused) == {world["closed_a"].pk, world["b"].pk, 999_999}
    assert "closed" in refused[world["closed_a"].pk]  # the state
    assert refused[world["b"].pk] == bulk.NOT_FOUND  # out of the dispatcher's scope
    assert refused[999_999] == bulk.NOT_FOUND
    # The others kept their change, each with the timeline entry of a single assignment.
    for ticket in Ticket.objects.filter(pk__in=open_ids):
        assert ticket.assignee == world["tech_a"]
        assert ticket.events.filter(kind=EventKind.ASSIGNED, actor=world["dispatcher"]).count() == 1
    assert Ticket.objects.get(pk=world["b"].pk).assignee is None
    summary = outcome.summary
    assert summary.startswith("Assigned to Ana Tech: 3 ticket(s) (")
    for pk in open_ids:
        assert f"#{pk}" in summary.split("Refused")[0]
    assert (
        f"Refused 3: #{world['closed_a'].pk}: Ticket #{world['closed_a'].pk} is closed" in summary
    )
    assert f"#{world['b'].pk}: not found" in summary


def test_bulk_assign_refuses_an_assignee_who_does_not_serve_the_client(world, admin_user):
    # The administrator sees both clients; Bo serves only B.
    ids = [world["open_a"][0].pk, world["b"].pk]
    outcome = bulk.tickets_bulk_assign(actor=admin_user, ticket_ids=ids, assignee=world["tech_b"])
    assert outcome.changed == [world["b"].pk]
    assert outcome.refused == [(world["open_a"][0].pk, "Bo Tech does not serve Alpha")]


def test_bulk_priority_needs_a_reason_and_keeps_it(world):
    ids = [t.pk for t in world["open_a"]]
    with pytest.raises(ValidationError):
        bulk.tickets_bulk_change_priority(
            actor=world["dispatcher"], ticket_ids=ids, priority="P1", reason="  "
        )
    assert not Ticket.objects.filter(pk__in=ids, priority="P1").exists()
    outcome = bulk.tickets_bulk_change_priority(
        actor=world["dispatcher"], ticket_ids=ids, priority="P1", reason="Site down"
    )
    assert outcome.changed == ids and outcome.refused == []
    for ticket in Ticket.objects.filter(pk__in=ids):
        assert ticket.priority == "P1"
        assert ticket.priority_override_reason == "Site down"
        assert ticket.events.get(kind=EventKind.PRIORITY).detail == "Site down"


def test_bulk_route_team_and_tier(world):
    engineers = TeamFactory(name="Engineers", tier=Tier.L2, serves_all_clients=True)
    first, second, third = world["open_a"]
    services.ticket_assign(ticket=first, actor=world["dispatcher"], assignee=world["tech_a"])
    outcome = bulk.tickets_bulk_route(
        actor=world["dispatcher"],
        ticket_ids=[first.pk, second.pk, world["closed_a"].pk],
        team=engineers,
        tier=Tier.L2,
    )
    assert outcome.changed == [first.pk, second.pk]
    assert [pk for pk, _ in outcome.refused] == [world["closed_a"].pk]
    first.refresh_from_db()
    assert (first.team, first.tier, first.assignee) == (engineers, Tier.L2, None)  # an L1 tech
    third.refresh_from_db()
    assert third.tier == Tier.L1
    # A team of another tier than the one asked for is refused, not half applied.
    outcome = bulk.tickets_bulk_route(
        actor=world["dispatcher"], ticket_ids=[third.pk], team=engineers, tier=Tier.L3
    )
    assert outcome.changed == [] and "takes tier L2" in outcome.refused[0][1]


def test_bulk_status_cancel_refuses_what_is_not_open(world):
    resolved = world["open_a"][2]
    services.ticket_resolve(ticket=resolved, actor=world["dispatcher"], resolution="ok")
    ids = [world["open_a"][0].pk, resolved.pk]
    outcome = bulk.tickets_bulk_set_status(
        actor=world["dispatcher"], ticket_ids=ids, status=TicketStatus.CANCELLED, note="dupes"
    )
    assert outcome.changed == [world["open_a"][0].pk]
    assert outcome.refused == [(resolved.pk, "A ticket that is resolved cannot become cancelled")]
    cancelled = Ticket.objects.get(pk=world["open_a"][0].pk)
    assert cancelled.status == TicketStatus.CANCELLED
    assert not cancelled.sla_clocks.filter(stopped_at__isnull=True).exists()


def test_bulk_merge_into_one_target(world, admin_user):
    target, dup1, dup2 = world["open_a"]
    services.ticket_note(ticket=dup1, author=admin_user, body="from dup1")
    services.time_entry_log(ticket=dup2, user=admin_user, minutes=15)
    outcome = bulk.tickets_bulk_merge(
        actor=admin_user,
        ticket_ids=[target.pk, dup1.pk, dup2.pk, world["b"].pk],
        target_id=target.pk,
    )
    assert outcome.changed == [dup1.pk, dup2.pk]  # the target itself is skipped
    assert outcome.refused == [(world["b"].pk, "Only tickets of the same client can be merged")]
    assert set(Ticket.objects.filter(merged_into=target).values_list("pk", flat=True)) == {
        dup1.pk,
        dup2.pk,
    }
    assert Comment.objects.filter(ticket=target, body="from dup1").exists()
    assert TimeEntry.objects.filter(ticket=target, minutes=15).exists()
    assert Ticket.objects.get(pk=world["b"].pk).merged_into is None


def test_bulk_merge_into_an_invisible_target_is_refused_whole(world):
    with pytest.raises(ValidationError):
        bulk.tickets_bulk_merge(
            actor=world["dispatcher"],
            ticket_ids=[world["open_a"][0].pk],
            target_id=world["b"].pk,
        )
    assert not Ticket.objects.filter(merged_into__isnull=False).exists()


def test_bulk_close_only_resolved(world):
    resolved = world["open_a"][1]
    services.ticket_resolve(ticket=resolved, actor=world["dispatcher"], resolution="ok")
    outcome = bulk.tickets_bulk_close(
        actor=world["dispatcher"], ticket_ids=[world["open_a"][0].pk, resolved.pk]
    )
    assert outcome.changed == [resolved.pk]
    assert outcome.refused == [(world["open_a"][0].pk, "Only a resolved ticket can be closed")]
    assert Ticket.objects.get(pk=resolved.pk).status == TicketStatus.CLOSED


def test_more_than_the_limit_is_refused(world):
    with pytest.raises(ValidationError):
        bulk.tickets_bulk_close(actor=world["dispatcher"], ticket_ids=range(1, bulk.BULK_LIMIT + 2))


@pytest.mark.django_db(transaction=True)
def test_each_ticket_commits_on_its_own(policy):
    """A refusal in the middle does not undo the tickets before it: each is its own
    transaction, committed, not one atomic block."""
    alpha = ClientFactory(name="Alpha")
    actor = StaffFactory(role=UserRole.DISPATCHER)
    first, middle, last = (TicketFactory(client=alpha) for _ in range(3))
    services.ticket_change_status(ticket=middle, actor=actor, status=TicketStatus.CANCELLED)
    outcome = bulk.tickets_bulk_assign(
        actor=actor, ticket_ids=[first.pk, middle.pk, last.pk], assignee=actor
    )
    assert outcome.changed == [first.pk, last.pk]
    assert Ticket.objects.filter(assignee=actor).count() == 2


# Over HTTP ------------------------------------------------------------------------------------


def test_bulk_assign_page_summary_and_refused_rows_stay_ticked(world):
    http = signed_in(world["dispatcher"])
    ids = _ids(world)
    response = http.post(
        reverse("tickets:bulk"),
        {
            "action": "assign",
            "tickets": ids,
            "assignee": world["tech_a"].pk,
            "next": "/workspace/tickets/?queue=all&sort=-priority",
        },
    )
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/workspace/tickets/?queue=all&sort=-priority")
    assert set(map(int, re.findall(r"selected=(\d+)", location))) == {
        world["closed_a"].pk,
        world["b"].pk,
        999_999,
    }
    page = http.get(location).content.decode()
    assert "Assigned to Ana Tech: 3 ticket(s)" in page
    assert "Refused 3" in page
    assert f'value="{world["closed_a"].pk}" form="bulk-form" data-row-select' in page
    assert "checked" in page.split(f'value="{world["closed_a"].pk}" form="bulk-form"')[1][:120]


def test_bulk_next_cannot_leave_the_queue(world):
    http = signed_in(world["dispatcher"])
    response = http.post(
        reverse("tickets:bulk"),
        {
            "action": "assign",
            "tickets": [world["open_a"][0].pk],
            "assignee": "",
            "next": "https://evil.example/workspace/tickets/",
        },
    )
    assert response["Location"].startswith("/workspace/tickets/")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"action": "assign"}, "Tickets"),
        ({"action": "priority", "tickets": ["1"], "priority": "P1"}, "Reason"),
        ({"action": "status", "tickets": ["1"]}, "Status"),
        ({"action": "merge", "tickets": ["1"]}, "Target"),
        ({"action": "route", "tickets": ["1"]}, "Team"),
        ({"action": "explode", "tickets": ["1"]}, "Action"),
        ({"action": "assign", "tickets": ["1; DROP"]}, "Tickets"),
    ],
)
def test_bad_bulk_input_is_400_with_the_field(world, data, field):
    response = signed_in(world["dispatcher"]).post(reverse("tickets:bulk"), data)
    assert response.status_code == 400
    assert f"{field}:" in response.content.decode()


def test_client_users_cannot_bulk(world, client_user_a):
    response = signed_in(client_user_a).post(
        reverse("tickets:bulk"), {"action": "close", "tickets": [world["open_a"][0].pk]}
    )
    assert response.status_code == 403


class TestPreviewThenConfirm:
    def test_bulk_close_previews_then_acts(self, world):
        resolved = world["open_a"][0]
        services.ticket_resolve(ticket=resolved, actor=world["dispatcher"], resolution="ok")
        http = signed_in(world["dispatcher"])
        data = {"action": "close", "tickets": [resolved.pk, world["open_a"][1].pk]}
        preview = http.post(reverse("tickets:bulk"), data)
        assert preview.status_code == 200
        content = preview.content.decode()
        assert "Closing is final" in content
        assert f"Refused: #{world['open_a'][1].pk} is new" in content
        assert Ticket.objects.get(pk=resolved.pk).status == TicketStatus.RESOLVED
        token = preview.context["confirm_token"]
        # A token is for that very selection: another selection gets its own preview.
        other = http.post(
            reverse("tickets:bulk"), {**data, "tickets": [resolved.pk], "confirm": token}
        )
        assert other.status_code == 200 and "confirm-button" in other.content.decode()
        assert Ticket.objects.get(pk=resolved.pk).status == TicketStatus.RESOLVED
        done = http.post(reverse("tickets:bulk"), {**data, "confirm": token})
        assert done.status_code == 302
        assert Ticket.objects.get(pk=resolved.pk).status == TicketStatus.CLOSED

    def test_bulk_merge_preview_lists_what_moves(self, world, admin_user):
        target, dup = world["open_a"][:2]
        services.ticket_reply(ticket=dup, author=admin_user, body="hello")
        services.time_entry_log(ticket=dup, user=admin_user, minutes=20)
        http = signed_in(world["dispatcher"])
        data = {"action": "merge", "tickets": [dup.pk, world["b"].pk], "target": target.pk}
        preview = http.post(reverse("tickets:bulk"), data)
        content = preview.content.decode()
        assert preview.status_code == 200
        assert "1 public reply" in content and "20 min" in content
        assert f"#{world['b'].pk}: not found" in content  # out of scope, said, not shown
        # (A subject with a space: a random token in the page cannot hold it.)
        assert "Bravo" not in content and "printer jam" not in content
        assert not Ticket.objects.filter(merged_into=target).exists()
        http.post(reverse("tickets:bulk"), {**data, "confirm": preview.context["confirm_token"]})
        assert list(Ticket.objects.filter(merged_into=target)) == [dup]

    def test_ticket_page_merge_refuses_another_clients_ticket_clearly(self, world, admin_user):
        http = signed_in(admin_user)
        source = world["open_a"][0]
        response = http.post(reverse("tickets:merge", args=[source.pk]), {"target": world["b"].pk})
        assert response.status_code == 400
        assert "only tickets of the same client can be merged" in response.content.decode()
        assert Ticket.objects.get(pk=source.pk).merged_into is None

    def test_ticket_page_merge_side_by_side_htmx(self, world, admin_user):
        source, target = world["open_a"][:2]
        http = signed_in(admin_user)
        url = reverse("tickets:merge", args=[source.pk])
        response = http.post(url, {"target": target.pk}, HTTP_HX_REQUEST="true")
        content = response.content.decode()
        assert response.status_code == 200
        assert 'data-testid="merge-source"' in content and 'data-testid="merge-target"' in content
        assert f'hx-post="{url}"' in content and 'hx-target="#ticket-main"' in content
        assert "<html" not in content  # a fragment for #ticket-main
        assert Ticket.objects.get(pk=source.pk).merged_into is None
        token = response.context["confirm_token"]
        http.post(url, {"target": target.pk, "confirm": token}, HTTP_HX_REQUEST="true")
        assert Ticket.objects.get(pk=source.pk).merged_into == target

    def test_cancel_previews_other_statuses_do_not(self, world):
        http = signed_in(world["dispatcher"])
        ticket = world["open_a"][0]
        url = reverse("tickets:status", args=[ticket.pk])
        assert http.post(url, {"status": "in_progress"}).status_code == 302
        preview = http.post(url, {"status": "cancelled", "note": "dupe"})
        assert preview.status_code == 200 and "Cancelling is final" in preview.content.decode()
        assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.IN_PROGRESS
        token = preview.context["confirm_token"]
        http.post(url, {"status": "cancelled", "note": "dupe", "confirm": token})
        assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.CANCELLED

    def test_a_forged_token_only_previews(self, world):
        resolved = world["open_a"][0]
        services.ticket_resolve(ticket=resolved, actor=world["dispatcher"], resolution="ok")
        http = signed_in(world["dispatcher"])
        response = http.post(reverse("tickets:close", args=[resolved.pk]), {"confirm": "yes"})
        assert response.status_code == 200
        assert Ticket.objects.get(pk=resolved.pk).status == TicketStatus.RESOLVED


class TestRowTake:
    def test_take_redraws_the_row(self, world):
        ticket = world["open_a"][0]
        http = signed_in(world["tech_a"])
        response = http.post(reverse("tickets:row-take", args=[ticket.pk]), HTTP_HX_REQUEST="true")
        content = response.content.decode()
        assert response.status_code == 200
        assert content.startswith(f'<tr data-ticket="{ticket.pk}"')
        assert 'data-testid="row-assignee">Ana Tech<' in content
        assert Ticket.objects.get(pk=ticket.pk).assignee == world["tech_a"]

    def test_take_of_another_clients_ticket_is_404(self, world):
        http = signed_in(world["tech_a"])
        response = http.post(reverse("tickets:row-take", args=[world["b"].pk]))
        assert response.status_code == 404
        assert Ticket.objects.get(pk=world["b"].pk).assignee is None

    def test_take_of_a_closed_ticket_says_why(self, world):
        http = signed_in(world["tech_a"])
        url = reverse("tickets:row-take", args=[world["closed_a"].pk])
        response = http.post(url, HTTP_HX_REQUEST="true")
        assert 'role="alert"' in response.content.decode()
        assert "is closed" in response.content.decode()
