"""Calendars and SLA policies over the API. Staff read both; account managers and
administrators also edit calendars, through the same services as the calendar pages: each
edit of the rules is a new version from now on (business time already elapsed keeps its
measure), listed under /calendars/{id}/versions/ and never changed."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from msp.api.base import CleanModelSerializer, ScopedViewSet
from msp.choices import SERVICE_MANAGER_ROLES
from sla import selectors, services
from sla.models import (
    BusinessCalendar,
    CalendarVersion,
    Holiday,
    SLAPolicy,
    SLATarget,
    WorkingInterval,
)
from sla.services import CALENDAR_FIELDS


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
        fields = ["id", *CALENDAR_FIELDS, "intervals", "holidays", "updated_at"]


class HolidayInputSerializer(serializers.Serializer):
    date = serializers.DateField()
    name = serializers.CharField(max_length=150)


class CalendarWriteSerializer(CleanModelSerializer):
    """A calendar's fields, and its week and holidays when given (each list replaces the
    whole), saved as one change."""

    intervals = WorkingIntervalSerializer(many=True, required=False)
    holidays = HolidayInputSerializer(many=True, required=False)

    class Meta:
        model = BusinessCalendar
        fields = [*CALENDAR_FIELDS, "intervals", "holidays"]

    def validate(self, attrs):
        intervals = attrs.pop("intervals", None)
        holidays = attrs.pop("holidays", None)
        attrs = super().validate(attrs)
        if intervals is not None:
            rows = [WorkingInterval(**interval) for interval in intervals]
            try:
                for row in rows:
                    row.clean()
                attrs["intervals"] = [(r.weekday, r.start_minute, r.end_minute) for r in rows]
                services.working_intervals_validate(attrs["intervals"])
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"intervals": exc.messages}) from None
        if holidays is not None:
            attrs["holidays"] = {holiday["date"]: holiday["name"] for holiday in holidays}
        return attrs

    def create(self, validated_data):
        validated_data["timezone_name"] = validated_data.pop("timezone")
        return _through_service(services.calendar_create, **validated_data)

    def update(self, instance, validated_data):
        return _through_service(services.calendar_update, calendar=instance, **validated_data)

    def to_representation(self, instance):
        instance = selectors.calendar_detail(pk=instance.pk)
        return CalendarSerializer(instance, context=self.context).data


def _through_service(service, **arguments):
    try:
        return service(**arguments)
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        raise serializers.ValidationError(detail) from None


class CalendarVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = CalendarVersion
        fields = ["id", "effective_from", "recorded_at", "timezone", "is_24x7", "week", "holidays"]


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


_WRITE_SCHEMA = extend_schema(request=CalendarWriteSerializer, responses=CalendarSerializer)


@extend_schema_view(create=_WRITE_SCHEMA, update=_WRITE_SCHEMA, partial_update=_WRITE_SCHEMA)
class CalendarViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, ReadOnlyStaffViewSet):
    queryset = BusinessCalendar.objects.prefetch_related(
        Prefetch("intervals", queryset=WorkingInterval.objects.order_by("weekday", "start_time")),
        Prefetch("holidays", queryset=Holiday.objects.order_by("date")),
    ).order_by("id")
    serializer_class = CalendarSerializer
    write_roles = SERVICE_MANAGER_ROLES

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return CalendarWriteSerializer
        return super().get_serializer_class()

    @extend_schema(responses=CalendarVersionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, pk=None):
        """The calendar's rules from each instant on, first to latest (never changed)."""
        versions = selectors.calendar_version_list(calendar=self.get_object())
        return Response(CalendarVersionSerializer(versions, many=True).data)


class PolicyViewSet(ReadOnlyStaffViewSet):
    queryset = SLAPolicy.objects.prefetch_related(
        Prefetch("targets", queryset=SLATarget.objects.order_by("priority"))
    ).order_by("id")
    serializer_class = PolicySerializer
