from datetime import time

import factory

from sla.models import BusinessCalendar, Holiday, SLAPolicy, WorkingInterval


class BusinessCalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessCalendar

    name = factory.Sequence(lambda n: f"Calendar {n}")
    timezone = "America/New_York"


class WorkingIntervalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingInterval

    calendar = factory.SubFactory(BusinessCalendarFactory)
    weekday = 0
    start_time = time(9)
    end_time = time(17)


class HolidayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holiday

    calendar = factory.SubFactory(BusinessCalendarFactory)
    name = "Holiday"


class SLAPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SLAPolicy

    name = factory.Sequence(lambda n: f"Policy {n}")
    calendar = factory.SubFactory(BusinessCalendarFactory)


def business_hours_calendar(**fields) -> BusinessCalendar:
    """A stored Monday-Friday 09:00-17:00 calendar."""
    calendar = BusinessCalendarFactory(**fields)
    for weekday in range(5):
        WorkingIntervalFactory(calendar=calendar, weekday=weekday)
    return calendar
