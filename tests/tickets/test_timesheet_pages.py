"""The weekly timesheet, the approval page and the ticket timer, as the browser uses them."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from msp.choices import UserRole
from tests.factories import StaffFactory, TeamFactory
from tests.helpers import signed_in
from tickets.choices import TimeEntryState
from tickets.models import RunningTimer, TimeEntry
from tickets.services import ticket_open
from tickets.services import timekeeping as tk

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 11, 23)
WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def now():
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        yield WEDNESDAY_NOON


@pytest.fixture
def ticket(policy, client_a):
    return ticket_open(client=client_a, subject="Printer jams")


@pytest.fixture
def ticket_b(policy, client_b):
    return ticket_open(client=client_b, subject="Bravo VPN down")


def log(ticket, user, minutes=30, day=MONDAY, **kwargs):
    return tk.time_entry_log(ticket=ticket, user=user, minutes=minutes, spent_on=day, **kwargs)


def timesheet(http, **query):
    return http.get(reverse("workspace:timesheet"), query)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


class TestTimesheet:
    def test_week_rows_day_totals_and_week_total(self, now, ticket, technician):
        log(ticket, technician, 30, MONDAY, note="cleared queue")
        log(ticket, technician, 45, MONDAY)
        log(ticket, technician, 90, MONDAY + timedelta(days=2))
        log(ticket, technician, 15, MONDAY + timedelta(days=7))  # next week
        response = timesheet(signed_in(technician), week="2026-11-25")
        assert response.status_code == 200
        days = response.context["days"]
        assert [d["day"] for d in days] == [MONDAY + timedelta(days=n) for n in range(7)]
        # A naive reference: the sum of each day's minutes.
        expected = {MONDAY: 75, MONDAY + timedelta(days=2): 90}
        assert [d["minutes"] for d in days] == [expected.get(d["day"], 0) for d in days]
        assert response.context["week_minutes"] == sum(expected.values()) == 165
        page = text(response)
        assert "1 h 15 min" in page and "1 h 30 min" in page and "2 h 45 min" in page
        assert "cleared queue" in page and "Printer jams" in page and "Draft" in page
        assert "Submit week (3 drafts)" in page

    def test_week_navigation(self, now, technician):
        page = text(timesheet(signed_in(technician)))
        assert "Week of Mon 23 Nov 2026" in page
        assert "?week=2026-11-16" in page and "?week=2026-11-30" in page
        page = text(timesheet(signed_in(technician), week="2026-12-03"))
        assert "Week of Mon 30 Nov 2026" in page and "This week" in page
        assert timesheet(signed_in(technician), week="nonsense").status_code == 200

    def test_add_edit_delete_and_submit(self, now, ticket, technician):
        http = signed_in(technician)
        response = http.post(
            reverse("workspace:timesheet-add"),
            {
                "spent_on": "2026-11-24",
                "ticket": ticket.pk,
                "start": "09:00",
                "end": "10:20",
                "work_type": "remote",
                "billable": "on",
                "note": "patched",
            },
        )
        assert response.status_code == 302
        entry = TimeEntry.objects.get()
        assert (entry.minutes, entry.spent_on, entry.state) == (80, date(2026, 11, 24), "draft")
        assert entry.started_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
        edit = http.get(reverse("workspace:timesheet-edit", args=[entry.pk]), follow=True)
        assert f'action="{reverse("workspace:timesheet-edit", args=[entry.pk])}"' in text(edit)
        response = http.post(
            reverse("workspace:timesheet-edit", args=[entry.pk]),
            {"spent_on": "2026-11-24", "minutes": "25", "work_type": "onsite", "note": "x"},
        )
        assert response.status_code == 302
        entry.refresh_from_db()
        assert (entry.minutes, entry.work_type, entry.started_at, entry.billable) == (
            25,
            "onsite",
            None,
            False,
        )
        response = http.post(reverse("workspace:timesheet-submit"), {"week": "2026-11-24"})
        assert response.status_code == 302
        entry.refresh_from_db()
        assert entry.state == TimeEntryState.SUBMITTED
        page = text(timesheet(http))
        assert "Submitted" in page and "Recall" in page and ">Edit<" not in page
        # Submitted: neither edited nor deleted; recalled, then deleted.
        http.post(reverse("workspace:timesheet-delete", args=[entry.pk]))
        assert TimeEntry.objects.filter(pk=entry.pk).exists()
        http.post(reverse("workspace:timesheet-recall", args=[entry.pk]))
        http.post(reverse("workspace:timesheet-delete", args=[entry.pk]))
        assert not TimeEntry.objects.exists()

    @pytest.mark.parametrize(
        ("form", "error"),
        [
            ({"start": "10:00", "end": "09:00"}, "The end must be after the start"),
            ({"start": "10:00"}, "Give both the start and the end"),
            ({}, "Give the minutes, or a start and an end"),
            ({"minutes": "2000"}, "less than or equal to 1440"),
            ({"minutes": "30", "ticket": "999999"}, "no such ticket"),
            ({"minutes": "30", "spent_on": "yesterday"}, "Enter a valid date"),
        ],
    )
    def test_bad_input_is_a_form_error(self, now, ticket, technician, form, error):
        data = {"spent_on": "2026-11-24", "ticket": ticket.pk, "work_type": "remote", **form}
        response = signed_in(technician).post(reverse("workspace:timesheet-add"), data)
        assert response.status_code == 400
        assert error in text(response)
        assert not TimeEntry.objects.exists()

    def test_no_time_on_a_ticket_of_a_client_one_does_not_see(self, now, ticket_b, client_a):
        team = TeamFactory(name="Pod A")
        team.clients.set([client_a])
        technician = StaffFactory(teams=[team])
        response = signed_in(technician).post(
            reverse("workspace:timesheet-add"),
            {
                "spent_on": "2026-11-24",
                "ticket": ticket_b.pk,
                "minutes": "5",
                "work_type": "remote",
            },
        )
        assert response.status_code == 400 and not TimeEntry.objects.exists()

    def test_rejected_entries_show_why_and_approved_are_locked(
        self, now, ticket, technician, account_manager
    ):
        rejected = log(ticket, technician, 20)
        approved = log(ticket, technician, 40)
        tk.time_entries_submit(user=technician, week_start=MONDAY)
        tk.time_entry_reject(entry=rejected, by=account_manager, reason="Wrong ticket")
        tk.time_entries_approve(entries=[approved], by=account_manager)
        http = signed_in(technician)
        page = text(timesheet(http))
        assert "Wrong ticket" in page and "locked" in page
        edit_url = reverse("workspace:timesheet-edit", args=[approved.pk])
        assert f'href="{edit_url}"' not in page
        response = http.post(edit_url, {"spent_on": "2026-11-23", "minutes": "1"})
        assert response.status_code == 400
        approved.refresh_from_db()
        assert approved.minutes == 40 and approved.state == "approved"
        http.post(reverse("workspace:timesheet-delete", args=[approved.pk]))
        assert TimeEntry.objects.filter(pk=approved.pk).exists()

    def test_nobody_changes_another_persons_entry(self, now, ticket, technician, admin_user):
        entry = log(ticket, technician)
        http = signed_in(admin_user)
        for name in ("timesheet-edit", "timesheet-delete", "timesheet-recall"):
            url = reverse(f"workspace:{name}", args=[entry.pk])
            assert http.post(url, {"minutes": "1", "spent_on": "2026-11-23"}).status_code == 404
        assert TimeEntry.objects.get().minutes == 30

    def test_a_technician_never_sees_another_timesheet(self, now, ticket, technician):
        log(ticket, technician, note="private note")
        other = StaffFactory()
        response = timesheet(signed_in(other), user=technician.pk)
        assert response.status_code == 403
        own = timesheet(signed_in(other))
        assert "private note" not in text(own)

    def test_managers_read_another_timesheet_within_their_clients(
        self, now, ticket, ticket_b, technician, client_a
    ):
        log(ticket, technician, note="alpha work")
        log(ticket_b, technician, note="bravo work")
        team = TeamFactory(name="Pod A")
        team.clients.set([client_a])
        manager = StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=[team])
        page = text(timesheet(signed_in(manager), user=technician.pk))
        assert "alpha work" in page and "bravo work" not in page
        assert "Submit week" not in page and "Add time" not in page

    def test_client_users_get_403(self, client_user_a):
        http = signed_in(client_user_a)
        assert timesheet(http).status_code == 403
        assert http.get(reverse("workspace:time-approval")).status_code == 403
        assert http.post(reverse("workspace:timesheet-submit")).status_code == 403

    @pytest.mark.parametrize("rows", [2, 30])
    def test_query_count_is_fixed(self, now, ticket, technician, rows, django_assert_num_queries):
        for n in range(rows):
            log(ticket, technician, 5, MONDAY + timedelta(days=n % 7))
        tk.timer_start(ticket=ticket, user=technician)
        http = signed_in(technician)
        # session, user, the week's entries (with ticket, client, decider), the running timer.
        with django_assert_num_queries(4):
            response = timesheet(http)
        assert response.context["week_minutes"] == 5 * rows


class TestApproval:
    @pytest.fixture
    def submitted(self, now, ticket, technician):
        entries = [log(ticket, technician, 30 + n, MONDAY + timedelta(days=n)) for n in range(3)]
        tk.time_entries_submit(user=technician, week_start=MONDAY)
        return entries

    def test_grouped_by_technician_and_week(self, submitted, ticket, account_manager):
        other = StaffFactory(full_name="Other Tech")
        log(ticket, other, 10, MONDAY - timedelta(days=7))
        tk.time_entries_submit(user=other, week_start=MONDAY - timedelta(days=7))
        response = signed_in(account_manager).get(reverse("workspace:time-approval"))
        groups = response.context["groups"]
        assert [(g["person"].full_name, g["week"], g["minutes"]) for g in groups] == [
            ("Other Tech", MONDAY - timedelta(days=7), 10),
            (submitted[0].user.full_name, MONDAY, 30 + 31 + 32),
        ]

    def test_approve_selected(self, submitted, account_manager):
        http = signed_in(account_manager)
        response = http.post(
            reverse("workspace:time-approval"), {"entry": [submitted[0].pk, submitted[2].pk]}
        )
        assert response.status_code == 302
        states = [TimeEntry.objects.get(pk=e.pk).state for e in submitted]
        assert states == ["approved", "submitted", "approved"]

    def test_approve_a_person_week(self, submitted, technician, account_manager):
        response = signed_in(account_manager).post(
            reverse("workspace:time-approval"), {"person": technician.pk, "week": "2026-11-25"}
        )
        assert response.status_code == 302
        assert set(TimeEntry.objects.values_list("state", flat=True)) == {"approved"}

    def test_approving_nothing_is_an_error(self, submitted, account_manager):
        response = signed_in(account_manager).post(reverse("workspace:time-approval"), {})
        assert response.status_code == 400
        assert "Choose the time to approve" in text(response)

    def test_reject_requires_a_reason(self, submitted, account_manager, technician):
        http = signed_in(account_manager)
        url = reverse("workspace:time-reject", args=[submitted[1].pk])
        response = http.post(url, {"reason": "  "})
        assert response.status_code == 400 and "This field is required" in text(response)
        assert TimeEntry.objects.get(pk=submitted[1].pk).state == "submitted"
        assert http.post(url, {"reason": "Billed twice"}).status_code == 302
        entry = TimeEntry.objects.get(pk=submitted[1].pk)
        assert (entry.state, entry.rejection_reason) == ("rejected", "Billed twice")
        assert "Billed twice" in text(timesheet(signed_in(technician)))

    @pytest.mark.parametrize("role", [UserRole.TECHNICIAN, UserRole.DISPATCHER])
    def test_only_managers(self, submitted, role):
        http = signed_in(StaffFactory(role=role))
        assert http.get(reverse("workspace:time-approval")).status_code == 403
        response = http.post(reverse("workspace:time-approval"), {"entry": [submitted[0].pk]})
        assert response.status_code == 403
        url = reverse("workspace:time-reject", args=[submitted[0].pk])
        assert http.post(url, {"reason": "x"}).status_code == 403
        assert TimeEntry.objects.get(pk=submitted[0].pk).state == "submitted"

    def test_a_manager_sees_and_decides_only_their_clients_time(
        self, now, ticket, ticket_b, technician, client_a
    ):
        alpha = log(ticket, technician, note="alpha work")
        bravo = log(ticket_b, technician, note="bravo work")
        tk.time_entries_submit(user=technician, week_start=MONDAY)
        team = TeamFactory(name="Pod A")
        team.clients.set([client_a])
        manager = StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=[team])
        http = signed_in(manager)
        page = text(http.get(reverse("workspace:time-approval")))
        assert "alpha work" in page and "bravo work" not in page and "Bravo" not in page
        http.post(reverse("workspace:time-approval"), {"entry": [alpha.pk, bravo.pk]})
        http.post(reverse("workspace:time-approval"), {"person": technician.pk, "week": MONDAY})
        reject = http.post(reverse("workspace:time-reject", args=[bravo.pk]), {"reason": "x"})
        assert reject.status_code == 404
        assert TimeEntry.objects.get(pk=bravo.pk).state == "submitted"
        assert TimeEntry.objects.get(pk=alpha.pk).state == "approved"

    def test_a_manager_does_not_approve_their_own_time(self, now, ticket, account_manager):
        own = log(ticket, account_manager)
        tk.time_entries_submit(user=account_manager, week_start=MONDAY)
        response = signed_in(account_manager).post(
            reverse("workspace:time-approval"), {"entry": [own.pk]}
        )
        assert response.status_code == 403
        assert TimeEntry.objects.get().state == "submitted"

    @pytest.mark.parametrize("people", [1, 6])
    def test_query_count_is_fixed(
        self, now, ticket, account_manager, people, django_assert_num_queries
    ):
        for _ in range(people):
            person = StaffFactory()
            for n in range(3):
                log(ticket, person, 10, MONDAY + timedelta(days=n))
            tk.time_entries_submit(user=person, week_start=MONDAY)
        http = signed_in(account_manager)
        # session, user, the manager's visible clients, the submitted entries (with ticket,
        # client and technician).
        with django_assert_num_queries(4):
            response = http.get(reverse("workspace:time-approval"))
        assert len(response.context["groups"]) == people


class TestTimer:
    def test_the_ticket_page_loads_the_timer(self, now, ticket, technician):
        http = signed_in(technician)
        page = text(http.get(reverse("tickets:detail", args=[ticket.pk])))
        assert reverse("workspace:timer", args=[ticket.pk]) in page
        widget = text(http.get(reverse("workspace:timer", args=[ticket.pk])))
        assert "Start timer" in widget

    def test_start_then_stop_logs_a_draft_rounded_up(self, ticket, technician):
        http = signed_in(technician)
        start = datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC)
        with time_machine.travel(start, tick=False):
            response = http.post(reverse("workspace:timer-start", args=[ticket.pk]))
        assert response.status_code == 302
        with time_machine.travel(start + timedelta(minutes=3), tick=False):
            widget = text(http.get(reverse("workspace:timer", args=[ticket.pk])))
            assert "Stop timer" in widget
            assert 'data-timer-started="2026-11-25T09:00:00+00:00"' in widget
            sheet = text(timesheet(http))
            assert "Timer running on" in sheet
        with time_machine.travel(start + timedelta(minutes=7, seconds=2), tick=False):
            response = http.post(
                reverse("workspace:timer-stop"),
                {"next": reverse("tickets:detail", args=[ticket.pk])},
            )
        assert response["Location"] == reverse("tickets:detail", args=[ticket.pk])
        entry = TimeEntry.objects.get()
        assert (entry.minutes, entry.state) == (8, "draft")
        assert not RunningTimer.objects.exists()

    def test_starting_on_another_ticket_stops_the_first(self, now, policy, client_a, technician):
        first = ticket_open(client=client_a, subject="First")
        second = ticket_open(client=client_a, subject="Second")
        http = signed_in(technician)
        http.post(reverse("workspace:timer-start", args=[first.pk]))
        widget = text(http.get(reverse("workspace:timer", args=[second.pk])))
        assert "starting here stops it" in widget
        http.post(reverse("workspace:timer-start", args=[second.pk]))
        assert RunningTimer.objects.get().ticket_id == second.pk
        assert TimeEntry.objects.get().ticket_id == first.pk

    def test_no_timer_on_a_ticket_one_does_not_see(self, now, ticket_b, client_a):
        team = TeamFactory(name="Pod A")
        team.clients.set([client_a])
        technician = StaffFactory(teams=[team])
        http = signed_in(technician)
        assert http.get(reverse("workspace:timer", args=[ticket_b.pk])).status_code == 404
        assert http.post(reverse("workspace:timer-start", args=[ticket_b.pk])).status_code == 404
        assert not RunningTimer.objects.exists()

    def test_stop_without_a_timer_says_so(self, now, technician):
        response = signed_in(technician).post(reverse("workspace:timer-stop"), follow=True)
        assert "No timer is running" in text(response)

    def test_next_goes_nowhere_outside(self, now, ticket, technician):
        http = signed_in(technician)
        http.post(reverse("workspace:timer-start", args=[ticket.pk]))
        response = http.post(reverse("workspace:timer-stop"), {"next": "https://evil.example/"})
        assert response["Location"].startswith(reverse("workspace:timesheet"))

    def test_logging_on_the_ticket_page_with_start_and_end(self, now, ticket, technician):
        response = signed_in(technician).post(
            reverse("tickets:time", args=[ticket.pk]),
            {"spent_on": "2026-11-24", "start": "13:00", "end": "13:40", "work_type": "remote"},
        )
        assert response.status_code == 302
        entry = TimeEntry.objects.get()
        assert (entry.minutes, entry.spent_on, entry.billable) == (40, date(2026, 11, 24), False)
