"""Calendars and SLA policies over the API: read-only for staff (they are edited in the
workspace, where a change is reviewed against the tickets it moves)."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers

from msp.api.base import ScopedViewSet
from sla.models import BusinessCalendar, Holiday, SLAPolicy, SLATarget, WorkingInterval


@extend_schema_field({"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]$"})
class WallClockTimeField(serializers.TimeField):
    """A local time of day, "08:00:00" (no offset: it is read in the calendar's zone)."""


class WorkingIntervalSerializer(serializers.ModelSerializer):
    start_time = WallClockTimeField()
    end_time = WallClockTimeField(help_text="00:00:00 means midnight at the end of the day.")

    class Meta:
        model = WorkingInterval
        fields = ["weekday", "start_time", "end_time"]


class HolidaySerializer(serializers.ModelSerializer):
    class Meta:
        model = Holiday
        fields = ["date", "name", "source"]


class CalendarSerializer(serializers.ModelSerializer):
    intervals = WorkingIntervalSerializer(many=True, read_only=True)
    holidays = HolidaySerializer(many=True, read_only=True)

    class Meta:
        model = BusinessCalendar
        fields = [
            "id",
            "name",
            "timezone",
            "holiday_country",
            "holiday_subdivision",
            "description",
            "intervals",
            "holidays",
            "updated_at",
        ]


class TargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = SLATarget
        fields = [
            "priority",
            "response_minutes",
            "resolution_minutes",
            "response_calendar",
            "resolution_calendar",
        ]


class PolicySerializer(serializers.ModelSerializer):
    targets = TargetSerializer(many=True, read_only=True)

    class Meta:
        model = SLAPolicy
        fields = [
            "id",
            "name",
            "description",
            "calendar",
            "first_warning_percent",
            "second_warning_percent",
            "pause_statuses",
            "next_update_minutes",
            "is_default",
            "targets",
            "updated_at",
        ]


class ReadOnlyStaffViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    def get_queryset(self):
        return self.queryset  # configuration, not client data: every staff member reads it


class CalendarViewSet(ReadOnlyStaffViewSet):
    queryset = BusinessCalendar.objects.prefetch_related(
        Prefetch("intervals", queryset=WorkingInterval.objects.order_by("weekday", "start_time")),
        Prefetch("holidays", queryset=Holiday.objects.order_by("date")),
    ).order_by("id")
    serializer_class = CalendarSerializer


class PolicyViewSet(ReadOnlyStaffViewSet):
    queryset = SLAPolicy.objects.prefetch_related(
        Prefetch("targets", queryset=SLATarget.objects.order_by("priority"))
    ).order_by("id")
    serializer_class = PolicySerializer
