import pytest
from django.urls import reverse

from sla.models import BusinessCalendar, Holiday, SLAPolicy
from tests.factories import HolidayFactory, business_hours_calendar
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


def interval_rows(rows, initial=0) -> dict:
    data = {"intervals-TOTAL_FORMS": str(len(rows)), "intervals-INITIAL_FORMS": str(initial)}
    for index, (weekday, start, end) in enumerate(rows):
        data.update(
            {
                f"intervals-{index}-weekday": str(weekday),
                f"intervals-{index}-start_time": start,
                f"intervals-{index}-end_time": end,
            }
        )
    return data


class TestCalendarPages:
    def test_every_staff_member_reads_calendars(self, technician):
        calendar = business_hours_calendar(name="Office")
        HolidayFactory(calendar=calendar, date="2026-12-25", name="Christmas Day")
        http = signed_in(technician)
        listing = http.get(reverse("sla:calendar-list")).content.decode()
        assert "Office" in listing and "Monday 09:00-17:00" in listing
        detail = http.get(reverse("sla:calendar-detail", args=[calendar.pk])).content.decode()
        assert "Christmas Day" in detail
        assert "Edit week" not in detail  # technicians read, they do not edit

    def test_calendar_list_query_count_is_fixed(self, technician, django_assert_num_queries):
        for _ in range(5):
            business_hours_calendar()
        http = signed_in(technician)
        with django_assert_num_queries(4):  # session, user, calendars, their intervals
            http.get(reverse("sla:calendar-list"))

    def test_technician_may_not_create_calendars(self, technician):
        http = signed_in(technician)
        assert http.get(reverse("sla:calendar-create")).status_code == 403
        assert http.post(reverse("sla:calendar-create"), {"name": "X"}).status_code == 403

    def test_account_manager_creates_a_calendar(self, account_manager):
        data = {"name": "Berlin office", "timezone": "Europe/Berlin", "holiday_country": "de"}
        data.update(
            interval_rows([(0, "08:00", "12:00"), (0, "13:00", "17:00"), (5, "22:00", "00:00")])
        )
        response = signed_in(account_manager).post(reverse("sla:calendar-create"), data)
        calendar = BusinessCalendar.objects.get(name="Berlin office")
        assert response.status_code == 302
        assert calendar.holiday_country == "DE"
        assert [str(i) for i in calendar.intervals.all()] == [
            "Monday 08:00-12:00",
            "Monday 13:00-17:00",
            "Saturday 22:00-24:00",
        ]

    def test_overlap_and_bad_timezone_are_form_errors_and_nothing_is_saved(self, account_manager):
        data = {"name": "Broken", "timezone": "Nowhere/Land"}
        data.update(interval_rows([(2, "09:00", "13:00"), (2, "12:00", "17:00")]))
        response = signed_in(account_manager).post(reverse("sla:calendar-create"), data)
        assert response.status_code == 200
        assert "timezone" in response.context["form"].errors
        assert "Wednesday: 09:00-13:00 overlaps 12:00-17:00." in response.content.decode()
        assert not BusinessCalendar.objects.filter(name="Broken").exists()

    def test_inverted_interval_is_a_form_error(self, account_manager):
        data = {"name": "Night", "timezone": "UTC"}
        data.update(interval_rows([(0, "22:00", "06:00")]))
        response = signed_in(account_manager).post(reverse("sla:calendar-create"), data)
        assert response.status_code == 200
        assert "Split an overnight shift" in response.content.decode()

    def test_edit_replaces_the_week(self, admin_user):
        calendar = business_hours_calendar(name="Office")
        data = {"name": "Office", "timezone": "America/New_York"}
        data.update(interval_rows([(d, "08:00", "18:00") for d in range(5)]))
        response = signed_in(admin_user).post(
            reverse("sla:calendar-edit", args=[calendar.pk]), data
        )
        assert response.status_code == 302
        assert calendar.intervals.count() == 5
        assert {str(i)[-11:] for i in calendar.intervals.all()} == {"08:00-18:00"}

    def test_holiday_add_import_and_delete(self, account_manager):
        calendar = business_hours_calendar(holiday_country="US")
        http = signed_in(account_manager)
        http.post(
            reverse("sla:holiday-add", args=[calendar.pk]),
            {"date": "2026-12-24", "name": "Office closed"},
        )
        response = http.post(
            reverse("sla:holiday-import", args=[calendar.pk]),
            {"first_year": "2026", "last_year": "2026"},
        )
        assert response.status_code == 302
        assert calendar.holidays.filter(name="Thanksgiving Day").exists()
        holiday = calendar.holidays.get(name="Office closed")
        http.post(reverse("sla:holiday-delete", args=[calendar.pk, holiday.pk]))
        assert not Holiday.objects.filter(pk=holiday.pk).exists()

    def test_bad_holiday_is_reported_not_saved(self, account_manager):
        calendar = business_hours_calendar()
        http = signed_in(account_manager)
        response = http.post(
            reverse("sla:holiday-add", args=[calendar.pk]),
            {"date": "31/31/2026", "name": ""},
            follow=True,
        )
        assert not calendar.holidays.exists()
        assert "Enter a valid date" in response.content.decode()

    def test_due_calculator(self, technician):
        calendar = business_hours_calendar()
        url = reverse("sla:calendar-detail", args=[calendar.pk])
        http = signed_in(technician)
        content = http.get(url, {"start": "2026-11-20T16:00", "minutes": "120"}).content.decode()
        assert "Mon 23 Nov 2026 10:00:00 EST" in content
        bad = http.get(url, {"start": "yesterday", "minutes": "x"}).content.decode()
        assert "Give a start date and time" in bad

    def test_client_users_get_403_on_every_sla_page(self, client_user_a):
        calendar = business_hours_calendar()
        http = signed_in(client_user_a)
        for url in [
            reverse("sla:calendar-list"),
            reverse("sla:calendar-detail", args=[calendar.pk]),
            reverse("sla:calendar-create"),
            reverse("sla:calendar-edit", args=[calendar.pk]),
            reverse("sla:policy-list"),
            reverse("sla:policy-create"),
        ]:
            assert http.get(url).status_code == 403, url


class TestPolicyPages:
    def test_policy_list_shows_targets(self, technician, policy):
        content = signed_in(technician).get(reverse("sla:policy-list")).content.decode()
        assert "Standard MSP SLA" in content and "default" in content
        assert "P1 - Critical" in content and "Waiting on client" in content

    def test_policy_list_query_count_is_fixed(self, technician, policy, django_assert_num_queries):
        http = signed_in(technician)
        with django_assert_num_queries(4):  # session, user, policies, targets with calendars
            http.get(reverse("sla:policy-list"))

    def _policy_data(self, calendar, **overrides) -> dict:
        data = {
            "name": "Gold",
            "calendar": str(calendar.pk),
            "first_warning_percent": "75",
            "second_warning_percent": "90",
            "pause_statuses": ["waiting_on_client", "waiting_on_third_party"],
            "targets-TOTAL_FORMS": "4",
            "targets-INITIAL_FORMS": "0",
            "targets-MIN_NUM_FORMS": "4",
            "targets-MAX_NUM_FORMS": "4",
        }
        for index, priority in enumerate(["P1", "P2", "P3", "P4"]):
            data[f"targets-{index}-priority"] = priority
            data[f"targets-{index}-response_minutes"] = str(15 * (index + 1))
            data[f"targets-{index}-resolution_minutes"] = str(240 * (index + 1))
        data.update(overrides)
        return data

    def test_create_policy(self, account_manager):
        calendar = business_hours_calendar()
        response = signed_in(account_manager).post(
            reverse("sla:policy-create"), self._policy_data(calendar)
        )
        assert response.status_code == 302
        policy = SLAPolicy.objects.get(name="Gold")
        assert policy.pause_statuses == ["waiting_on_client", "waiting_on_third_party"]
        assert sorted(policy.targets.values_list("priority", "response_minutes")) == [
            ("P1", 15),
            ("P2", 30),
            ("P3", 45),
            ("P4", 60),
        ]

    def test_negative_target_and_bad_thresholds_are_form_errors(self, account_manager):
        calendar = business_hours_calendar()
        data = self._policy_data(
            calendar, **{"targets-1-response_minutes": "-10", "first_warning_percent": "0"}
        )
        response = signed_in(account_manager).post(reverse("sla:policy-create"), data)
        assert response.status_code == 200
        assert "first_warning_percent" in response.context["form"].errors
        assert "response_minutes" in response.context["formset"].forms[1].errors
        assert not SLAPolicy.objects.filter(name="Gold").exists()

    def test_edit_policy(self, admin_user, policy):
        http = signed_in(admin_user)
        assert http.get(reverse("sla:policy-edit", args=[policy.pk])).status_code == 200
        data = self._policy_data(policy.calendar, name=policy.name, is_default="on")
        data["targets-INITIAL_FORMS"] = "4"
        for index, target in enumerate(policy.targets.order_by("priority")):
            data[f"targets-{index}-id"] = str(target.pk)
            data[f"targets-{index}-policy"] = str(policy.pk)
        response = http.post(reverse("sla:policy-edit", args=[policy.pk]), data)
        assert response.status_code == 302, response.context["formset"].errors
        assert policy.targets.get(priority="P1").resolution_minutes == 240
        assert policy.targets.get(priority="P4").response_minutes == 60


def test_new_calendar_form_starts_with_an_office_week(account_manager):
    response = signed_in(account_manager).get(reverse("sla:calendar-create"))
    formset = response.context["formset"]
    filled = [form.initial for form in formset.forms if form.initial]
    assert [(row["weekday"], str(row["start_time"])) for row in filled] == [
        (day, "09:00:00") for day in range(5)
    ]
    assert len(formset.forms) == 7


class TestEscalationRulesPage:
    def _data(self, policy, rows):
        data = {
            "escalation_rules-TOTAL_FORMS": str(len(rows)),
            "escalation_rules-INITIAL_FORMS": str(sum(1 for row in rows if row.get("id"))),
        }
        for index, row in enumerate(rows):
            for key, value in row.items():
                if value is not None:
                    data[f"escalation_rules-{index}-{key}"] = value
        return data

    def test_manager_edits_the_ladder(self, account_manager, policy):
        http = signed_in(account_manager)
        page = http.get(reverse("sla:escalation-rules", args=[policy.pk]))
        assert page.status_code == 200
        rules = list(policy.escalation_rules.order_by("pk"))
        rows = [
            {
                "id": str(rule.pk),
                "policy": str(policy.pk),
                "name": rule.name,
                "trigger": rule.trigger,
                "clock_kind": rule.clock_kind,
                "minutes": str(rule.minutes or ""),
                "is_active": "on",
                "notify_assignee": "on" if rule.notify_assignee else None,
                "priorities": rule.priorities[0] if rule.priorities else None,
                "raise_tier": "on" if rule.raise_tier else None,
            }
            for rule in rules
        ]
        rows[0]["DELETE"] = "on"
        rows.append(
            {
                "name": "P1 breach: page on-call",
                "trigger": "breach",
                "priorities": "P1",
                "notify_email": "oncall@msp.example",
                "is_active": "on",
            }
        )
        response = http.post(
            reverse("sla:escalation-rules", args=[policy.pk]), self._data(policy, rows)
        )
        assert response.status_code == 302, response.context["formset"].errors
        names = set(policy.escalation_rules.values_list("name", flat=True))
        assert rules[0].name not in names
        new = policy.escalation_rules.get(name="P1 breach: page on-call")
        assert (new.priorities, new.notify_email) == (["P1"], "oncall@msp.example")
        assert policy.escalation_rules.filter(pk=rules[2].pk, raise_tier=True).exists()

    def test_unacknowledged_rule_needs_minutes(self, account_manager, policy):
        policy.escalation_rules.all().delete()
        rows = [{"name": "Silent", "trigger": "unacknowledged", "is_active": "on"}]
        response = signed_in(account_manager).post(
            reverse("sla:escalation-rules", args=[policy.pk]), self._data(policy, rows)
        )
        assert response.status_code == 200
        assert "Say after how many minutes" in response.content.decode()
        assert not policy.escalation_rules.exists()

    def test_technicians_may_not_edit_rules(self, technician, policy):
        assert (
            signed_in(technician).get(reverse("sla:escalation-rules", args=[policy.pk])).status_code
            == 403
        )
