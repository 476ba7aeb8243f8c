from django.db import models


class BusinessCalendarQuerySet(models.QuerySet):
    def with_rules(self) -> "BusinessCalendarQuerySet":
        """Calendars with their intervals and holidays, ready to build engines from."""
        return self.prefetch_related("intervals", "holidays")


class SLAPolicyQuerySet(models.QuerySet):
    def with_targets(self) -> "SLAPolicyQuerySet":
        return self.select_related("calendar").prefetch_related(
            "targets__response_calendar", "targets__resolution_calendar"
        )
