"""Time entries' approval (draft -> submitted -> approved or rejected), the locks, who may do
what, the week's submission, start/end arithmetic, the running timer and billing's selector."""

import math
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError

from msp.choices import UserRole
from tests.factories import StaffFactory, TeamFactory
from tickets import selectors
from tickets.choices import TicketStatus, TimeEntryState
from tickets.models import RunningTimer, TimeEntry
from tickets.services import ticket_open, ticket_resolve
from tickets.services import timekeeping as tk

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 11, 23)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def ticket(policy, client_a):
    return ticket_open(client=client_a, subject="Printer jams")


@pytest.fixture
def ticket_b(policy, client_b):
    return ticket_open(client=client_b, subject="Bravo VPN down")


def log(ticket, user, minutes=30, day=MONDAY, **kwargs):
    return tk.time_entry_log(ticket=ticket, user=user, minutes=minutes, spent_on=day, **kwargs)


def state(entry) -> str:
    entry.refresh_from_db()
    return entry.state


class TestLogging:
    def test_new_time_is_a_draft(self, ticket, technician):
        entry = log(ticket, technician)
        assert entry.state == TimeEntryState.DRAFT and entry.is_editable

    def test_start_and_end_give_minutes_rounded_up_and_the_day_it_started(self, ticket, technician):
        cases = [
            (at(2026, 11, 24, 9, 0, 0), at(2026, 11, 24, 9, 45, 0)),
            (at(2026, 11, 24, 9, 0, 0), at(2026, 11, 24, 9, 45, 1)),
            (at(2026, 11, 24, 9, 0, 30), at(2026, 11, 24, 9, 0, 31)),
            (at(2026, 11, 24, 23, 30), at(2026, 11, 25, 0, 40)),  # past midnight
            (at(2026, 11, 24, 0, 0), at(2026, 11, 25, 0, 0)),  # exactly 24 hours
        ]
        for start, end in cases:
            entry = tk.time_entry_log(
                ticket=ticket, user=technician, started_at=start, ended_at=end
            )
            naive = max(1, math.ceil((end - start).total_seconds() / 60))
            assert entry.minutes == naive
            assert entry.spent_on == start.date()  # UTC is the test's time zone
        assert [e.minutes for e in TimeEntry.objects.order_by("pk")] == [45, 46, 1, 70, 1440]

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"started_at": at(2026, 11, 24, 10), "ended_at": at(2026, 11, 24, 9)}, "ended_at"),
            ({"started_at": at(2026, 11, 24, 10), "ended_at": at(2026, 11, 24, 10)}, "ended_at"),
            ({"started_at": at(2026, 11, 24, 0), "ended_at": at(2026, 11, 25, 0, 1)}, "ended_at"),
            ({"started_at": at(2026, 11, 24, 10)}, "ended_at"),
            ({}, "minutes"),
            (
                {
                    "started_at": at(2026, 11, 24, 9),
                    "ended_at": at(2026, 11, 24, 10),
                    "minutes": 30,
                },
                "minutes",
            ),
            (
                {
                    "started_at": at(2026, 11, 24, 9),
                    "ended_at": at(2026, 11, 24, 10),
                    "spent_on": date(2026, 11, 23),
                },
                "spent_on",
            ),
        ],
    )
    def test_bad_spans_are_field_errors(self, ticket, technician, kwargs, field):
        with pytest.raises(ValidationError) as caught:
            tk.time_entry_log(ticket=ticket, user=technician, **kwargs)
        assert field in caught.value.message_dict
        assert not TimeEntry.objects.exists()


class TestAuthorsChanges:
    def test_author_edits_a_draft(self, ticket, technician):
        entry = log(ticket, technician)
        tk.time_entry_update(entry=entry, user=technician, minutes=50, note=" fixed ")
        entry.refresh_from_db()
        assert (entry.minutes, entry.note, entry.state) == (50, "fixed", "draft")

    def test_a_span_replaces_the_minutes_and_minutes_clear_the_span(self, ticket, technician):
        entry = log(ticket, technician)
        entry = tk.time_entry_update(
            entry=entry,
            user=technician,
            started_at=at(2026, 11, 25, 8, 0),
            ended_at=at(2026, 11, 25, 9, 10),
        )
        assert (entry.minutes, entry.spent_on) == (70, date(2026, 11, 25))
        entry = tk.time_entry_update(entry=entry, user=technician, minutes=20)
        assert (entry.minutes, entry.started_at, entry.ended_at) == (20, None, None)

    def test_someone_else_may_not_change_or_delete_it(self, ticket, technician, admin_user):
        entry = log(ticket, technician)
        other = StaffFactory()
        for user in (other, admin_user):
            with pytest.raises(PermissionDenied):
                tk.time_entry_update(entry=entry, user=user, minutes=5)
            with pytest.raises(PermissionDenied):
                tk.time_entry_delete(entry=entry, user=user)
        assert TimeEntry.objects.get().minutes == 30

    def test_author_deletes_a_draft(self, ticket, technician):
        tk.time_entry_delete(entry=log(ticket, technician), user=technician)
        assert not TimeEntry.objects.exists()

    def test_unknown_fields_are_refused(self, ticket, technician):
        with pytest.raises(ValidationError):
            tk.time_entry_update(entry=log(ticket, technician), user=technician, state="approved")


class TestStateMachine:
    def test_submit_a_week_submits_only_that_weeks_drafts_of_that_person(self, ticket, technician):
        other = StaffFactory()
        monday = log(ticket, technician, day=MONDAY)
        sunday = log(ticket, technician, day=MONDAY + timedelta(days=6))
        next_monday = log(ticket, technician, day=MONDAY + timedelta(days=7))
        last_sunday = log(ticket, technician, day=MONDAY - timedelta(days=1))
        theirs = log(ticket, other, day=MONDAY)
        # Any day of the week names it.
        count = tk.time_entries_submit(user=technician, week_start=MONDAY + timedelta(days=3))
        assert count == 2
        assert [state(e) for e in (monday, sunday, next_monday, last_sunday, theirs)] == [
            "submitted",
            "submitted",
            "draft",
            "draft",
            "draft",
        ]
        assert monday.submitted_at is not None
        assert tk.time_entries_submit(user=technician, week_start=MONDAY) == 0

    def test_submitted_time_is_locked_until_recalled(self, ticket, technician):
        entry = log(ticket, technician)
        tk.time_entries_submit(user=technician, week_start=MONDAY)
        with pytest.raises(ValidationError) as caught:
            tk.time_entry_update(entry=entry, user=technician, minutes=5)
        assert caught.value.code == "conflict"
        with pytest.raises(ValidationError):
            tk.time_entry_delete(entry=entry, user=technician)
        with pytest.raises(PermissionDenied):
            tk.time_entry_recall(entry=entry, user=StaffFactory())
        tk.time_entry_recall(entry=entry, user=technician)
        assert state(entry) == "draft"
        with pytest.raises(ValidationError):  # a draft is not recalled
            tk.time_entry_recall(entry=entry, user=technician)

    def test_approve_locks_for_good(self, ticket, technician, account_manager):
        entry = log(ticket, technician)
        tk.time_entries_submit(user=technician, week_start=MONDAY)
        tk.time_entries_approve(entries=[entry], by=account_manager, at=at(2026, 11, 30, 9))
        entry.refresh_from_db()
        assert (entry.state, entry.decided_by, entry.decided_at) == (
            "approved",
            account_manager,
            at(2026, 11, 30, 9),
        )
        for attempt in (
            lambda: tk.time_entry_update(entry=entry, user=technician, minutes=5),
            lambda: tk.time_entry_delete(entry=entry, user=technician),
            lambda: tk.time_entry_recall(entry=entry, user=technician),
            lambda: tk.time_entries_approve(entries=[entry], by=account_manager),
            lambda: tk.time_entry_reject(entry=entry, by=account_manager, reason="no"),
        ):
            with pytest.raises(ValidationError):
                attempt()
        assert state(entry) == "approved" and TimeEntry.objects.get().minutes == 30

    def test_reject_needs_a_reason_and_editing_makes_a_draft_again(
        self, ticket, technician, account_manager
    ):
        entry = log(ticket, technician)
        tk.time_entries_submit(user=technician, week_start=MONDAY)
        with pytest.raises(ValidationError) as caught:
            tk.time_entry_reject(entry=entry, by=account_manager, reason="   ")
        assert "reason" in caught.value.message_dict
        assert state(entry) == "submitted"
        tk.time_entry_reject(entry=entry, by=account_manager, reason="Not on this ticket")
        entry.refresh_from_db()
        assert (entry.state, entry.rejection_reason) == ("rejected", "Not on this ticket")
        assert entry.is_editable
        tk.time_entry_update(entry=entry, user=technician, minutes=15)
        entry.refresh_from_db()
        assert (entry.state, entry.rejection_reason, entry.decided_by) == ("draft", "", None)
        assert tk.time_entries_submit(user=technician, week_start=MONDAY) == 1

    def test_a_rejected_entry_may_be_deleted(self, ticket, technician, account_manager):
        entry = log(ticket, technician)
        tk.time_entries_submit(user=technician, week_start=MONDAY)
        tk.time_entry_reject(entry=entry, by=account_manager, reason="Duplicate")
        tk.time_entry_delete(entry=entry, user=technician)
        assert not TimeEntry.objects.exists()

    def test_drafts_are_neither_approved_nor_rejected(self, ticket, technician, account_manager):
        entry = log(ticket, technician)
        with pytest.raises(ValidationError):
            tk.time_entries_approve(entries=[entry], by=account_manager)
        with pytest.raises(ValidationError):
            tk.time_entry_reject(entry=entry, by=account_manager, reason="x")
        assert state(entry) == "draft"

    def test_every_state_change_is_in_the_audit_trail(self, ticket, technician, account_manager):
        entry = log(ticket, technician)
        tk.time_entries_submit(user=technician, week_start=MONDAY)
        tk.time_entries_approve(entries=[entry], by=account_manager)
        rows = LogEntry.objects.get_for_object(entry).order_by("pk")
        assert [row.changes_dict.get("state") for row in rows] == [
            [None, "draft"],
            ["draft", "submitted"],
            ["submitted", "approved"],
        ]
        assert rows.last().actor is None  # a service called without a request: no actor


class TestWhoApproves:
    @pytest.fixture
    def submitted(self, ticket, technician):
        entry = log(ticket, technician)
        tk.time_entries_submit(user=technician, week_start=MONDAY)
        return entry

    @pytest.mark.parametrize("role", [UserRole.TECHNICIAN, UserRole.DISPATCHER])
    def test_technicians_and_dispatchers_do_not_approve(self, submitted, role):
        user = StaffFactory(role=role)
        with pytest.raises(PermissionDenied):
            tk.time_entries_approve(entries=[submitted], by=user)
        with pytest.raises(PermissionDenied):
            tk.time_entry_reject(entry=submitted, by=user, reason="x")
        assert state(submitted) == "submitted"

    def test_a_client_user_does_not_approve(self, submitted, client_user_a):
        with pytest.raises(PermissionDenied):
            tk.time_entries_approve(entries=[submitted], by=client_user_a)

    def test_managers_approve_only_clients_they_see(self, ticket_b, technician, client_a):
        entry = log(ticket_b, technician)
        tk.time_entries_submit(user=technician, week_start=MONDAY)
        team = TeamFactory(name="Pod A")
        team.clients.set([client_a])
        manager = StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=[team])
        with pytest.raises(TimeEntry.DoesNotExist):
            tk.time_entries_approve(entries=[entry], by=manager)
        with pytest.raises(TimeEntry.DoesNotExist):
            tk.time_entry_reject(entry=entry, by=manager, reason="x")
        assert state(entry) == "submitted"

    def test_all_or_none(self, ticket, ticket_b, technician, client_a):
        mine = log(ticket, technician)
        theirs = log(ticket_b, technician)
        tk.time_entries_submit(user=technician, week_start=MONDAY)
        team = TeamFactory(name="Pod A")
        team.clients.set([client_a])
        manager = StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=[team])
        with pytest.raises(TimeEntry.DoesNotExist):
            tk.time_entries_approve(entries=[mine, theirs], by=manager)
        assert state(mine) == state(theirs) == "submitted"

    def test_own_time_only_administrators(self, ticket, account_manager, admin_user):
        managers_own = log(ticket, account_manager)
        tk.time_entries_submit(user=account_manager, week_start=MONDAY)
        with pytest.raises(PermissionDenied):
            tk.time_entries_approve(entries=[managers_own], by=account_manager)
        admins_own = log(ticket, admin_user)
        tk.time_entries_submit(user=admin_user, week_start=MONDAY)
        tk.time_entries_approve(entries=[admins_own, managers_own], by=admin_user)
        assert state(managers_own) == state(admins_own) == "approved"


class TestTimer:
    def test_stop_logs_a_draft_rounded_up_to_the_minute(self, ticket, technician):
        start = at(2026, 11, 24, 9, 0, 0)
        tk.timer_start(ticket=ticket, user=technician, at=start)
        entry = tk.timer_stop(user=technician, at=start + timedelta(minutes=12, seconds=1))
        assert (entry.minutes, entry.state, entry.started_at, entry.ended_at) == (
            13,
            "draft",
            start,
            start + timedelta(minutes=12, seconds=1),
        )
        assert entry.spent_on == date(2026, 11, 24)
        assert not RunningTimer.objects.exists()

    @pytest.mark.parametrize(
        ("seconds", "minutes"), [(0, 1), (1, 1), (59, 1), (60, 1), (61, 2), (3600, 60)]
    )
    def test_rounding(self, ticket, technician, seconds, minutes):
        start = at(2026, 11, 24, 9, 0, 0)
        tk.timer_start(ticket=ticket, user=technician, at=start)
        entry = tk.timer_stop(user=technician, at=start + timedelta(seconds=seconds))
        assert entry.minutes == minutes == max(1, math.ceil(seconds / 60))

    def test_starting_another_stops_and_logs_the_first(self, ticket, ticket_b, technician):
        start = at(2026, 11, 24, 9, 0)
        tk.timer_start(ticket=ticket, user=technician, at=start)
        timer, logged = tk.timer_start(
            ticket=ticket_b, user=technician, at=start + timedelta(minutes=20)
        )
        assert (logged.ticket_id, logged.minutes) == (ticket.pk, 20)
        assert RunningTimer.objects.get() == timer and timer.ticket_id == ticket_b.pk

    def test_one_timer_per_person_and_none_to_stop(self, ticket, technician):
        tk.timer_start(ticket=ticket, user=technician)
        with pytest.raises(ValidationError):
            tk.timer_start(ticket=ticket, user=technician)
        tk.timer_stop(user=technician)
        with pytest.raises(ValidationError):
            tk.timer_stop(user=technician)
        with pytest.raises(ValidationError):
            tk.timer_discard(user=technician)

    def test_a_timer_over_24_hours_is_refused_and_may_be_discarded(self, ticket, technician):
        start = at(2026, 11, 20, 17, 0)
        tk.timer_start(ticket=ticket, user=technician, at=start)
        with pytest.raises(ValidationError):
            tk.timer_stop(user=technician, at=start + timedelta(hours=24, seconds=1))
        tk.timer_discard(user=technician)
        assert not RunningTimer.objects.exists() and not TimeEntry.objects.exists()

    def test_no_timer_on_a_closed_ticket_nor_for_client_users(
        self, ticket, technician, client_user_a
    ):
        with pytest.raises(ValidationError):
            tk.timer_start(ticket=ticket, user=client_user_a)
        ticket_resolve(ticket=ticket, actor=technician, resolution="done")
        ticket.status = TicketStatus.CLOSED
        with pytest.raises(ValidationError):
            tk.timer_start(ticket=ticket, user=technician)

    def test_server_time_decides(self, ticket, technician):
        with time_machine.travel(at(2026, 11, 24, 9, 0, 0), tick=False):
            tk.timer_start(ticket=ticket, user=technician)
        with time_machine.travel(at(2026, 11, 24, 10, 30, 30), tick=False):
            entry = tk.timer_stop(user=technician)
        assert entry.minutes == 91


class TestBillingSelector:
    def test_approved_billable_time_of_the_period(
        self, ticket, ticket_b, technician, account_manager, django_assert_num_queries
    ):
        days = [date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1)]
        entries = [log(ticket, technician, minutes=10 + n, day=day) for n, day in enumerate(days)]
        unbillable = log(ticket, technician, day=date(2026, 11, 2), billable=False)
        other_client = log(ticket_b, technician, day=date(2026, 11, 2))
        draft = log(ticket, technician, day=date(2026, 11, 3))
        rejected = log(ticket, technician, day=date(2026, 11, 4))
        everything = [*entries, unbillable, other_client, rejected]
        TimeEntry.objects.filter(pk__in=[e.pk for e in everything]).update(
            state=TimeEntryState.SUBMITTED
        )
        tk.time_entry_reject(entry=rejected, by=account_manager, reason="x")
        tk.time_entries_approve(entries=everything[:-1], by=account_manager)
        found = selectors.approved_billable_time(
            client_ids=[ticket.client_id], start=date(2026, 11, 1), end=date(2026, 12, 1)
        )
        with django_assert_num_queries(1):  # ticket and user come with the rows
            rows = [(row.pk, row.ticket.subject, row.user.full_name) for row in found]
        # Not the draft, the rejected, the unbillable, another client's, nor outside [start, end).
        assert [row[0] for row in rows] == [entries[1].pk, entries[2].pk]
        assert draft.pk not in [row[0] for row in rows]


def test_existing_time_predates_approval_and_is_approved():
    """Migration 0023 adds the state with "approved" as the column's default while it is
    added (existing rows), then "draft" for new rows."""
    from importlib import import_module

    migration = import_module("tickets.migrations.0023_time_entry_approval").Migration
    added, altered = migration.operations[0], migration.operations[1]
    assert (added.name, added.field.db_default) == ("state", "approved")
    assert (altered.name, altered.field.db_default) == ("state", "draft")
