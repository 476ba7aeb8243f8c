from django.apps import apps
from django.db import models


class BusinessCalendarQuerySet(models.QuerySet):
    def with_rules(self) -> "BusinessCalendarQuerySet":
        """Calendars with their intervals and holidays, ready to build engines from."""
        return self.prefetch_related("intervals", "holidays")


class SLAPolicyQuerySet(models.QuerySet):
    def with_targets(self) -> "SLAPolicyQuerySet":
        """Policies with their calendar and their targets (with the targets' own calendars,
        joined): two queries."""
        targets = apps.get_model("sla", "SLATarget").objects.select_related(
            "response_calendar", "resolution_calendar"
        )
        return self.select_related("calendar").prefetch_related(
            models.Prefetch("targets", queryset=targets)
        )
