"""Calendar edits are not retroactive (SPEC sections 4 and 11): each edit appends a version in
force from the moment it is saved; business time already spent, and concluded clocks, keep
their measure; deadlines still to come move.

The office calendar: New York, Monday to Friday 09:00-17:00. Tickets open on Monday
7 December 2026 at 09:00; every target is 1,440 business minutes (three business days).
"""

import importlib
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.db import IntegrityError, transaction
from django.urls import reverse

from sla import clockstore, selectors, services
from sla.calendar import VersionedCalendar, WorkingTime
from sla.choices import ClockKind, Priority
from sla.models import BusinessCalendar, CalendarVersion, SLAClock
from tests.factories import business_hours_calendar
from tests.helpers import signed_in
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
WEEK = [(weekday, 9 * 60, 17 * 60) for weekday in range(5)]


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


@pytest.fixture
def office():
    with time_machine.travel(ny(2026, 12, 1, 9), tick=False):
        calendar = services.calendar_create(
            name="Office", timezone_name="America/New_York", intervals=WEEK
        )
        policy = services.policy_save(
            name="Office hours",
            calendar=calendar,
            targets={p: {"response_minutes": 1440, "resolution_minutes": 1440} for p in Priority},
        )
    return calendar, policy


def open_ticket(client, policy, at: datetime):
    with time_machine.travel(at, tick=False):
        return ticket_services.ticket_open(
            client=client, subject="Printer", sla_policy=policy, at=at
        )


def status(ticket, kind: str, now: datetime):
    row = SLAClock.objects.get(ticket=ticket, kind=kind)
    return clockstore.clock_load(row).status(now)


def edit(at: datetime, service, **arguments):
    with time_machine.travel(at, tick=False):
        return service(**arguments)


def calendar_of(calendar: BusinessCalendar) -> BusinessCalendar:
    return BusinessCalendar.objects.get(pk=calendar.pk)


class TestRunningClock:
    def test_spent_time_keeps_its_measure_and_the_deadline_moves(self, office, client_a):
        calendar, policy = office
        ticket = open_ticket(client_a, policy, ny(2026, 12, 7, 9))
        noon = ny(2026, 12, 8, 12)  # Tuesday: Monday 8 h and Tuesday 3 h spent
        first = status(ticket, ClockKind.RESOLUTION, noon)
        assert (first.spent, first.due_at) == (hours(11), ny(2026, 12, 9, 17))

        # Monday, already spent, made a holiday: nothing changes.
        edit(noon, services.holiday_add, calendar=calendar, day=date(2026, 12, 7), name="Closed")
        after_past_holiday = status(ticket, ClockKind.RESOLUTION, noon)
        assert (after_past_holiday.spent, after_past_holiday.due_at) == (
            hours(11),
            ny(2026, 12, 9, 17),
        )

        # Wednesday, still to come, made a holiday: the deadline moves to Thursday.
        edit(noon, services.holiday_add, calendar=calendar, day=date(2026, 12, 9), name="Closed")
        after_future_holiday = status(ticket, ClockKind.RESOLUTION, noon)
        assert (after_future_holiday.spent, after_future_holiday.due_at) == (
            hours(11),
            ny(2026, 12, 10, 17),
        )

        # At 14:00 the hours become 09:00-13:00: 13 h spent stays 13 h; the 11 h left take
        # Thursday, Friday and Monday 09:00-12:00 (Wednesday is still a holiday).
        two = ny(2026, 12, 8, 14)
        assert status(ticket, ClockKind.RESOLUTION, two).spent == hours(13)
        shorter = [(weekday, 9 * 60, 13 * 60) for weekday in range(5)]
        edit(two, services.calendar_intervals_set, calendar=calendar, intervals=shorter)
        after_hours = status(ticket, ClockKind.RESOLUTION, two)
        assert (after_hours.spent, after_hours.due_at) == (hours(13), ny(2026, 12, 14, 12))
        # Later time is measured on the new hours: Tuesday 14:00-17:00 no longer counts.
        assert status(ticket, ClockKind.RESOLUTION, ny(2026, 12, 8, 17)).spent == hours(13)
        assert CalendarVersion.objects.filter(calendar=calendar).count() == 4

    def test_a_due_instant_already_past_stays_past(self, office, client_a):
        calendar, policy = office
        ticket = open_ticket(client_a, policy, ny(2026, 12, 7, 9))
        # The response clock (also 1,440 min) would have been due Wednesday 17:00; on Friday
        # the week before is made a holiday: its breach stays where it was.
        friday = ny(2026, 12, 11, 12)
        before = status(ticket, ClockKind.RESPONSE, friday)
        edit(friday, services.holiday_add, calendar=calendar, day=date(2026, 12, 8), name="Late")
        after = status(ticket, ClockKind.RESPONSE, friday)
        assert before.breached_at == after.breached_at == ny(2026, 12, 9, 17)
        assert before.spent == after.spent == hours(4 * 8 + 3)


class TestConcludedClock:
    def test_figures_reloaded_from_history_are_the_same_after_edits(
        self, office, client_a, technician
    ):
        calendar, policy = office
        # A 90-minute target for the response: breached on Monday at 10:30, concluded by the
        # resolution reply on Tuesday at 10:00, which also meets the resolution clock.
        services.policy_save(
            policy=policy,
            targets={p: {"response_minutes": 90, "resolution_minutes": 1440} for p in Priority},
        )
        ticket = open_ticket(client_a, policy, ny(2026, 12, 7, 9))
        with time_machine.travel(ny(2026, 12, 8, 10), tick=False):
            ticket_services.ticket_resolve(
                ticket=ticket, actor=technician, resolution="Replaced the toner."
            )
        now = ny(2026, 12, 8, 15)
        kinds = (ClockKind.RESPONSE, ClockKind.RESOLUTION)
        figures = {kind: status(ticket, kind, now) for kind in kinds}
        response, resolution = figures[ClockKind.RESPONSE], figures[ClockKind.RESOLUTION]
        assert (response.state, response.spent, response.breached_at) == (
            "breached",
            hours(9),
            ny(2026, 12, 7, 10, 30),
        )
        assert (resolution.state, resolution.spent, resolution.due_at) == (
            "met",
            hours(9),
            ny(2026, 12, 9, 17),
        )

        # Both days the tickets ran on become holidays, and the hours change.
        edit(now, services.holiday_add, calendar=calendar, day=date(2026, 12, 7), name="Closed")
        edit(now, services.holiday_add, calendar=calendar, day=date(2026, 12, 8), name="Closed")
        edit(
            now,
            services.calendar_intervals_set,
            calendar=calendar,
            intervals=[(weekday, 10 * 60, 12 * 60) for weekday in range(7)],
        )

        def kept(figure):
            return (
                figure.state,
                figure.spent,
                figure.paused,
                figure.breached_at,
                figure.stopped_at,
            )

        for kind, before in figures.items():
            assert kept(status(ticket, kind, now)) == kept(before)
        assert status(ticket, ClockKind.RESPONSE, now).due_at == ny(2026, 12, 7, 10, 30)


class TestVersions:
    def test_a_new_calendar_has_one_version_from_the_beginning_of_time(self, office):
        calendar, _ = office
        (version,) = CalendarVersion.objects.filter(calendar=calendar)
        assert version.effective_from is None
        assert (version.timezone, version.is_24x7, version.holidays) == (
            "America/New_York",
            False,
            [],
        )
        assert version.week == [list(row) for row in WEEK]
        # One version: the plain engine, no versioned wrapper to pay for.
        assert type(selectors.calendar_engine(calendar_of(calendar))) is WorkingTime

    def test_an_edit_appends_a_version_from_now_and_a_new_engine(self, office):
        calendar, _ = office
        at = ny(2026, 12, 8, 12)
        # Frozen time: the cache key must still change with the version.
        with time_machine.travel(at, tick=False):
            engine = selectors.calendar_engine(calendar_of(calendar))
            services.holiday_add(calendar=calendar, day=date(2026, 12, 25), name="Christmas")
            again = selectors.calendar_engine(calendar_of(calendar))
        assert again is not engine and isinstance(again, VersionedCalendar)
        latest = CalendarVersion.objects.filter(calendar=calendar).last()
        assert latest.effective_from == at
        assert latest.holidays == ["2026-12-25"]

    def test_edits_that_change_no_rule_append_nothing(self, office):
        calendar, _ = office
        edit(ny(2026, 12, 8), services.calendar_update, calendar=calendar, description="Main")
        edit(ny(2026, 12, 8), services.calendar_intervals_set, calendar=calendar, intervals=WEEK)
        assert CalendarVersion.objects.filter(calendar=calendar).count() == 1

    def test_a_calendar_made_by_hand_gets_its_rules_so_far_as_its_first_version(self):
        calendar = business_hours_calendar(timezone="UTC")  # rows only, no version
        start = datetime(2026, 12, 7, 16, tzinfo=UTC)  # a Monday
        edit(
            datetime(2026, 12, 8, 12, tzinfo=UTC),
            services.holiday_add,
            calendar=calendar,
            day=date(2026, 12, 7),
            name="Closed",
        )
        first, second = CalendarVersion.objects.filter(calendar=calendar)
        assert (first.effective_from, first.holidays) == (None, [])
        assert second.effective_from == datetime(2026, 12, 8, 12, tzinfo=UTC)
        engine = selectors.calendar_engine(calendar_of(calendar))
        assert engine.between(start, datetime(2026, 12, 8, 10, tzinfo=UTC)) == hours(2)

    def test_versions_cannot_be_changed_or_deleted(self, office):
        calendar, _ = office
        version = CalendarVersion.objects.get(calendar=calendar)
        version.holidays = ["2026-12-25"]
        with pytest.raises(Exception, match="cannot be changed"):
            version.save()
        with pytest.raises(IntegrityError, match="never changed"), transaction.atomic():
            CalendarVersion.objects.filter(pk=version.pk).update(holidays=["2026-12-25"])
        with pytest.raises(IntegrityError, match="never changed"), transaction.atomic():
            CalendarVersion.objects.filter(pk=version.pk)._raw_delete("default")
        assert CalendarVersion.objects.get(pk=version.pk).holidays == []

    def test_the_migration_gives_existing_calendars_their_rules_as_first_version(self):
        calendar = business_hours_calendar(timezone="Europe/Berlin")
        calendar.holidays.create(date=date(2026, 12, 25), name="Christmas")
        migration = importlib.import_module("sla.migrations.0008_calendar_versions")
        migration.first_versions(_BeforeVersions(), None)
        (version,) = CalendarVersion.objects.filter(calendar=calendar)
        assert version.effective_from is None
        assert version.timezone == "Europe/Berlin"
        assert version.week == [[weekday, 540, 1020] for weekday in range(5)]
        assert version.holidays == ["2026-12-25"]


class _BeforeVersions:
    """The app registry as migration 0008 saw it: no calendar had a version yet. (The test
    database's default calendars have theirs already, and versions cannot be deleted.)"""

    def get_model(self, app_label: str, model_name: str):
        model = apps.get_model(app_label, model_name)
        if model is BusinessCalendar:
            return SimpleNamespace(objects=model.objects.filter(versions__isnull=True))
        return model


class TestEditPaths:
    """The workspace form, the API and the admin each append a version."""

    def test_workspace_form(self, office, admin_user):
        calendar, _ = office
        data = {"name": "Office", "timezone": "America/New_York"}
        rows = [(weekday, "08:00", "18:00") for weekday in range(5)]
        data.update({"intervals-TOTAL_FORMS": "5", "intervals-INITIAL_FORMS": "0"})
        for index, (weekday, start, end) in enumerate(rows):
            data[f"intervals-{index}-weekday"] = str(weekday)
            data[f"intervals-{index}-start_time"] = start
            data[f"intervals-{index}-end_time"] = end
        with time_machine.travel(ny(2026, 12, 8, 12), tick=False):
            response = signed_in(admin_user).post(
                reverse("sla:calendar-edit", args=[calendar.pk]), data
            )
        assert response.status_code == 302
        latest = CalendarVersion.objects.filter(calendar=calendar).last()
        assert latest.effective_from == ny(2026, 12, 8, 12)
        assert latest.week == [[weekday, 480, 1080] for weekday in range(5)]
        page = signed_in(admin_user).get(reverse("sla:calendar-detail", args=[calendar.pk]))
        assert "Tue 8 Dec 2026 12:00:00 EST" in page.content.decode()

    def test_api(self, office, account_manager, technician, api_as):
        calendar, _ = office
        url = f"/api/v1/calendars/{calendar.pk}/"
        body = {"holidays": [{"date": "2026-12-24", "name": "Christmas Eve"}]}
        assert api_as(technician).patch(url, body, format="json").status_code == 403
        with time_machine.travel(ny(2026, 12, 8, 12), tick=False):
            response = api_as(account_manager).patch(url, body, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["holidays"] == [
            {"date": "2026-12-24", "name": "Christmas Eve", "source": "manual"}
        ]
        versions = api_as(technician).get(f"{url}versions/").json()
        assert [v["effective_from"] for v in versions] == [None, "2026-12-08T17:00:00Z"]
        assert versions[1]["holidays"] == ["2026-12-24"]
        # Versions are read only: no route writes them.
        assert api_as(account_manager).post(f"{url}versions/", {}).status_code == 405
        assert api_as(account_manager).delete(f"{url}versions/").status_code == 405

    def test_api_refuses_bad_rules_and_appends_nothing(self, office, account_manager, api_as):
        calendar, _ = office
        response = api_as(account_manager).patch(
            f"/api/v1/calendars/{calendar.pk}/",
            {
                "intervals": [
                    {"weekday": 0, "start_time": "09:00:00", "end_time": "13:00:00"},
                    {"weekday": 0, "start_time": "12:00:00", "end_time": "17:00:00"},
                ]
            },
            format="json",
        )
        assert response.status_code == 400
        assert "overlaps" in str(response.json())
        assert CalendarVersion.objects.filter(calendar=calendar).count() == 1

    def test_admin(self, office, admin_user):
        calendar, _ = office
        client = signed_in(admin_user)
        data = {
            "name": "Office",
            "timezone": "America/New_York",
            "intervals-TOTAL_FORMS": "0",
            "intervals-INITIAL_FORMS": "0",
            "holidays-TOTAL_FORMS": "1",
            "holidays-INITIAL_FORMS": "0",
            "holidays-0-date": "2026-12-31",
            "holidays-0-name": "New Year's Eve",
            "holidays-0-source": "manual",
        }
        # Existing interval rows are kept as they are (not posted as changed or deleted).
        data.update(
            {
                "intervals-TOTAL_FORMS": str(len(WEEK)),
                "intervals-INITIAL_FORMS": str(len(WEEK)),
            }
        )
        for index, interval in enumerate(calendar.intervals.order_by("weekday")):
            data.update(
                {
                    f"intervals-{index}-id": str(interval.pk),
                    f"intervals-{index}-calendar": str(calendar.pk),
                    f"intervals-{index}-weekday": str(interval.weekday),
                    f"intervals-{index}-start_time": "09:00",
                    f"intervals-{index}-end_time": "17:00",
                }
            )
        with time_machine.travel(ny(2026, 12, 8, 12), tick=False):
            client = signed_in(admin_user)  # signed in then, not days before (idle timeout)
            response = client.post(
                reverse("admin:sla_businesscalendar_change", args=[calendar.pk]), data
            )
        assert response.status_code == 302, response.content.decode()[:2000]
        assert "/login/" not in response.url
        latest = CalendarVersion.objects.filter(calendar=calendar).last()
        assert (latest.effective_from, latest.holidays) == (ny(2026, 12, 8, 12), ["2026-12-31"])
        change_page = client.get(reverse("admin:sla_businesscalendar_change", args=[calendar.pk]))
        assert "New Year" in change_page.content.decode()
        # The versions' own admin pages show them and offer no way to change them.
        version_url = reverse("admin:sla_calendarversion_change", args=[latest.pk])
        assert client.get(version_url).status_code == 200
        assert client.post(version_url, {"timezone": "UTC"}).status_code == 403
        delete_url = reverse("admin:sla_calendarversion_delete", args=[latest.pk])
        assert client.post(delete_url, {"post": "yes"}).status_code == 403
        assert CalendarVersion.objects.get(pk=latest.pk).timezone == "America/New_York"
