"""Validation of calendars and policies: errors name the field, in models and admin alike."""

from datetime import time

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from sla.models import SLAPolicy, SLATarget, WorkingInterval
from tests.factories import BusinessCalendarFactory, SLAPolicyFactory

pytestmark = pytest.mark.django_db


def errors_of(instance) -> dict:
    with pytest.raises(ValidationError) as error:
        instance.full_clean()
    return error.value.message_dict


def test_unknown_timezone_names_the_field():
    assert "timezone" in errors_of(BusinessCalendarFactory.build(timezone="Europe/Atlantis"))


def test_unknown_holiday_preset_country_names_the_field():
    calendar = BusinessCalendarFactory.build(holiday_country="XX")
    assert errors_of(calendar)["holiday_country"] == ["No holiday preset for country 'XX'."]


def test_unknown_subdivision_names_the_field():
    calendar = BusinessCalendarFactory.build(holiday_country="US", holiday_subdivision="ZZ")
    assert errors_of(calendar)["holiday_subdivision"] == ["US has no subdivision 'ZZ'."]


def test_inverted_interval_names_the_end():
    interval = WorkingInterval(
        calendar=BusinessCalendarFactory(), weekday=0, start_time=time(17), end_time=time(9)
    )
    assert "Split an overnight shift" in errors_of(interval)["end_time"][0]


def test_interval_to_midnight_is_valid():
    interval = WorkingInterval(
        calendar=BusinessCalendarFactory(), weekday=0, start_time=time(22), end_time=time(0)
    )
    interval.full_clean()
    assert interval.end_minute == 1440
    assert str(interval) == "Monday 22:00-24:00"


def test_database_refuses_inverted_intervals():
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkingInterval.objects.create(
            calendar=BusinessCalendarFactory(), weekday=0, start_time=time(17), end_time=time(9)
        )


@pytest.mark.parametrize(
    "field,value", [("first_warning_percent", 0), ("second_warning_percent", 100)]
)
def test_thresholds_outside_1_to_99_name_the_field(field, value):
    policy = SLAPolicyFactory.build(calendar=BusinessCalendarFactory(), **{field: value})
    assert field in errors_of(policy)


def test_second_warning_must_follow_the_first():
    policy = SLAPolicyFactory.build(
        calendar=BusinessCalendarFactory(), first_warning_percent=90, second_warning_percent=75
    )
    assert errors_of(policy)["second_warning_percent"] == [
        "The second warning must come after the first."
    ]


def test_pause_statuses_must_be_known():
    policy = SLAPolicyFactory.build(
        calendar=BusinessCalendarFactory(), pause_statuses=["on_holiday"]
    )
    assert "pause_statuses" in errors_of(policy)


def test_defaults_are_75_and_90_percent_and_waiting_on_client():
    policy = SLAPolicy(name="P", calendar=BusinessCalendarFactory())
    assert policy.warning_percents == (75, 90)
    assert policy.pause_statuses == ["waiting_on_client"]


@pytest.mark.parametrize("field", ["response_minutes", "resolution_minutes"])
def test_targets_must_be_positive(field):
    values = {"response_minutes": 60, "resolution_minutes": 480, field: 0}
    target = SLATarget(policy=SLAPolicyFactory(), priority="P1", **values)
    assert field in errors_of(target)


def test_only_one_default_policy(policy):
    assert policy.is_default
    with pytest.raises(IntegrityError), transaction.atomic():
        SLAPolicyFactory(is_default=True)


def test_admin_shows_field_errors_for_a_bad_calendar(admin_user, client):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:sla_businesscalendar_add"),
        {
            "name": "Bad",
            "timezone": "Nowhere/Land",
            "intervals-TOTAL_FORMS": "2",
            "intervals-INITIAL_FORMS": "0",
            "intervals-0-weekday": "0",
            "intervals-0-start_time": "09:00",
            "intervals-0-end_time": "13:00",
            "intervals-1-weekday": "0",
            "intervals-1-start_time": "12:00",
            "intervals-1-end_time": "17:00",
            "holidays-TOTAL_FORMS": "0",
            "holidays-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "timezone" in response.context["adminform"].form.errors
    content = response.content.decode()
    assert "Monday: 09:00-13:00 overlaps 12:00-17:00." in content


def test_admin_rejects_a_negative_target(admin_user, client):
    calendar = BusinessCalendarFactory()
    client.force_login(admin_user)
    data = {
        "name": "Policy",
        "calendar": calendar.pk,
        "first_warning_percent": 75,
        "second_warning_percent": 90,
        "pause_statuses": '["waiting_on_client"]',
        "targets-TOTAL_FORMS": "4",
        "targets-INITIAL_FORMS": "0",
        "targets-MIN_NUM_FORMS": "4",
        "targets-MAX_NUM_FORMS": "4",
    }
    for index, priority in enumerate(["P1", "P2", "P3", "P4"]):
        data[f"targets-{index}-priority"] = priority
        data[f"targets-{index}-response_minutes"] = "-5" if priority == "P2" else "60"
        data[f"targets-{index}-resolution_minutes"] = "480"
    response = client.post(reverse("admin:sla_slapolicy_add"), data)
    assert response.status_code == 200
    assert not SLAPolicy.objects.filter(name="Policy").exists()
    assert "Ensure this value is greater than or equal to" in response.content.decode()
