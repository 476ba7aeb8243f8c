"""Holidays, SLA policies with their targets, and escalation rules over the API: the same
services, versions and refusals as the SLA pages."""

from datetime import date

import pytest

from sla.models import CalendarVersion, EscalationRule, Holiday, SLAPolicy

pytestmark = pytest.mark.django_db

TARGETS = [
    {"priority": "P1", "response_minutes": 15, "resolution_minutes": 240},
    {"priority": "P2", "response_minutes": 30, "resolution_minutes": 480},
    {"priority": "P3", "response_minutes": 120, "resolution_minutes": 1440},
    {"priority": "P4", "response_minutes": 480, "resolution_minutes": 4320},
]


class TestHolidays:
    def test_add_rename_and_remove_each_make_a_version(self, policy, account_manager, api_as):
        calendar = policy.calendar
        http = api_as(account_manager)
        versions = CalendarVersion.objects.filter(calendar=calendar).count()
        url = f"/api/v1/calendars/{calendar.pk}/holidays/"
        response = http.post(url, {"date": "2026-12-24", "name": "Christmas Eve"}, format="json")
        assert response.status_code == 201
        assert response.json() == {
            "date": "2026-12-24",
            "name": "Christmas Eve",
            "source": "manual",
        }
        assert Holiday.objects.get(calendar=calendar, date=date(2026, 12, 24)).name == (
            "Christmas Eve"
        )
        assert http.delete(f"{url}2026-12-24/").status_code == 204
        assert not Holiday.objects.filter(calendar=calendar, date=date(2026, 12, 24)).exists()
        assert http.delete(f"{url}2026-12-24/").status_code == 404
        assert CalendarVersion.objects.filter(calendar=calendar).count() >= versions + 2

    def test_a_bad_date_is_a_field_error(self, policy, account_manager, api_as):
        response = api_as(account_manager).post(
            f"/api/v1/calendars/{policy.calendar.pk}/holidays/",
            {"date": "24/12/2026", "name": "Eve"},
            format="json",
        )
        assert response.status_code == 400 and "date" in response.json()["errors"]

    def test_import_the_preset_for_a_range_of_years(self, policy, account_manager, api_as):
        calendar = policy.calendar
        http = api_as(account_manager)
        url = f"/api/v1/calendars/{calendar.pk}/holidays/import/"
        # The calendar was made with this year's neighbours; further years are imported.
        response = http.post(url, {"first_year": 2040, "last_year": 2040}, format="json")
        assert response.status_code == 201
        assert response.json()["created"] > 5  # US federal holidays of 2040
        assert Holiday.objects.filter(calendar=calendar, date=date(2040, 7, 4)).exists()
        again = http.post(url, {"first_year": 2040, "last_year": 2040}, format="json")
        assert again.json()["created"] == 0
        response = http.post(url, {"first_year": 2040, "last_year": 2039}, format="json")
        assert response.json()["errors"] == {"last_year": ["Not before the first year."]}

    def test_technicians_read_but_do_not_edit(self, policy, technician, api_as):
        response = api_as(technician).post(
            f"/api/v1/calendars/{policy.calendar.pk}/holidays/",
            {"date": "2026-12-24", "name": "Eve"},
            format="json",
        )
        assert response.status_code == 403


class TestPolicies:
    def test_create_then_change_a_target(self, policy, account_manager, api_as):
        http = api_as(account_manager)
        response = http.post(
            "/api/v1/sla-policies/",
            {"name": "Gold", "calendar": policy.calendar.pk, "targets": TARGETS},
            format="json",
        )
        assert response.status_code == 201, response.json()
        gold = response.json()
        assert [(t["priority"], t["response_minutes"]) for t in gold["targets"]] == [
            ("P1", 15),
            ("P2", 30),
            ("P3", 120),
            ("P4", 480),
        ]
        changed = [{**TARGETS[0], "response_minutes": 10}, *TARGETS[1:]]
        response = http.patch(
            f"/api/v1/sla-policies/{gold['id']}/", {"targets": changed}, format="json"
        )
        assert response.json()["targets"][0]["response_minutes"] == 10
        response = http.patch(
            f"/api/v1/sla-policies/{gold['id']}/", {"description": "Our best"}, format="json"
        )
        assert response.status_code == 200
        assert response.json()["targets"][0]["response_minutes"] == 10  # kept

    def test_every_priority_needs_a_target(self, policy, account_manager, api_as):
        response = api_as(account_manager).post(
            "/api/v1/sla-policies/",
            {"name": "Thin", "calendar": policy.calendar.pk, "targets": TARGETS[:3]},
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["errors"]["targets"] == ["Give one target for each priority P1-P4."]
        assert not SLAPolicy.objects.filter(name="Thin").exists()

    def test_a_second_default_takes_the_flag_over(self, policy, admin_user, api_as):
        response = api_as(admin_user).post(
            "/api/v1/sla-policies/",
            {
                "name": "New default",
                "calendar": policy.calendar.pk,
                "is_default": True,
                "targets": TARGETS,
            },
            format="json",
        )
        assert response.status_code == 201
        assert list(SLAPolicy.objects.filter(is_default=True).values_list("name", flat=True)) == [
            "New default"
        ]

    def test_dispatchers_may_not_write(self, policy, dispatcher, api_as):
        response = api_as(dispatcher).patch(
            f"/api/v1/sla-policies/{policy.pk}/", {"name": "Mine"}, format="json"
        )
        assert response.status_code == 403


class TestEscalationRules:
    def test_create_change_and_delete(self, policy, account_manager, technician, api_as):
        http = api_as(account_manager)
        response = http.post(
            "/api/v1/escalation-rules/",
            {
                "policy": policy.pk,
                "name": "Page the on-call",
                "trigger": "breach",
                "priorities": ["P1"],
                "notify_email": "oncall@msp.example",
                "reassign_to": technician.pk,
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
        rule = response.json()
        assert (rule["reassign_to"], rule["notify_assignee"]) == (technician.pk, True)
        response = http.patch(
            f"/api/v1/escalation-rules/{rule['id']}/", {"raise_tier": True}, format="json"
        )
        assert response.json()["raise_tier"] is True
        listed = http.get("/api/v1/escalation-rules/", {"policy": policy.pk}).json()
        assert rule["id"] in [row["id"] for row in listed["results"]]
        assert http.delete(f"/api/v1/escalation-rules/{rule['id']}/").status_code == 204
        assert not EscalationRule.objects.filter(pk=rule["id"]).exists()

    def test_the_models_rules_are_field_errors(self, policy, account_manager, api_as):
        response = api_as(account_manager).post(
            "/api/v1/escalation-rules/",
            {"policy": policy.pk, "name": "Silence", "trigger": "unacknowledged"},
            format="json",
        )
        assert response.status_code == 400
        assert "minutes" in response.json()["errors"]

    def test_a_rule_stays_with_its_policy(self, policy, account_manager, api_as):
        http = api_as(account_manager)
        other = SLAPolicy.objects.create(name="Other", calendar=policy.calendar)
        rule = EscalationRule.objects.create(policy=policy, name="R", trigger="breach")
        response = http.patch(
            f"/api/v1/escalation-rules/{rule.pk}/", {"policy": other.pk}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["errors"]["policy"] == ["A rule stays with its policy."]
