"""Calendars, their holidays, SLA policies with their targets, and escalation rules over the
API. Staff read them; account managers and administrators edit them, through the same services
as the SLA pages: each edit of a calendar's rules is a new version from now on (business time
already elapsed keeps its measure), listed under /calendars/{id}/versions/ and never changed."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from msp.api.base import CleanModelSerializer, ScopedViewSet, valid_data
from msp.api.fields import StrictCharField
from msp.choices import SERVICE_MANAGER_ROLES
from sla import selectors, services
from sla.choices import Priority
from sla.models import (
    BusinessCalendar,
    CalendarVersion,
    EscalationRule,
    Holiday,
    SLAPolicy,
    SLATarget,
    WorkingInterval,
)
from sla.services import CALENDAR_FIELDS, POLICY_FIELDS, RULE_FIELDS, TARGET_FIELDS


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
    name = StrictCharField(max_length=150)


class HolidayImportSerializer(serializers.Serializer):
    first_year = serializers.IntegerField(min_value=1970, max_value=2100)
    last_year = serializers.IntegerField(min_value=1970, max_value=2100)

    def validate(self, attrs):
        if attrs["last_year"] < attrs["first_year"]:
            raise serializers.ValidationError({"last_year": "Not before the first year."})
        if attrs["last_year"] - attrs["first_year"] > 10:
            raise serializers.ValidationError({"last_year": "At most ten years at once."})
        return attrs


class HolidayImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()


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


def _office_week(start: str, end: str) -> list[dict]:
    return [{"weekday": day, "start_time": start, "end_time": end} for day in range(5)]


CALENDAR_EXAMPLES = [
    OpenApiExample(
        "Office hours with holidays",
        value={
            "name": "Albany business hours",
            "timezone": "America/New_York",
            "is_24x7": False,
            "holiday_country": "US",
            "holiday_subdivision": "NY",
            "description": "Mon-Fri 08:00-18:00 Eastern, US and New York State holidays.",
            "intervals": _office_week("08:00:00", "18:00:00"),
        },
        description=(
            "The preset's public holidays are then imported with POST"
            " /calendars/{id}/holidays/import/; company days off are added one by one."
        ),
        request_only=True,
    ),
    OpenApiExample(
        "Round the clock",
        value={"name": "24x7 NOC", "timezone": "UTC", "is_24x7": True},
        request_only=True,
    ),
]
_WRITE_SCHEMA = extend_schema(
    request=CalendarWriteSerializer, responses=CalendarSerializer, examples=CALENDAR_EXAMPLES
)
_PATCH_SCHEMA = extend_schema(
    request=CalendarWriteSerializer,
    responses=CalendarSerializer,
    examples=[
        OpenApiExample(
            "Longer weekdays",
            value={"intervals": _office_week("07:00:00", "19:00:00")},
            request_only=True,
        ),
        OpenApiExample(
            "Saturday mornings too",
            value={
                "intervals": [
                    *_office_week("08:00:00", "18:00:00"),
                    {"weekday": 5, "start_time": "09:00:00", "end_time": "13:00:00"},
                ]
            },
            request_only=True,
        ),
    ],
)


@extend_schema_view(create=_WRITE_SCHEMA, update=_WRITE_SCHEMA, partial_update=_PATCH_SCHEMA)
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

    @extend_schema(
        request=HolidayInputSerializer,
        responses={201: HolidaySerializer},
        examples=[
            OpenApiExample("Company day off", value={"date": "2026-12-24", "name": "Christmas Eve"})
        ],
    )
    @action(detail=True, methods=["post"], url_path="holidays")
    def holiday_add(self, request, pk=None):
        """Add (or rename) a holiday: a new version of the calendar from now on."""
        calendar = self.get_object()
        data = valid_data(HolidayInputSerializer, request)
        holiday = services.holiday_add(calendar=calendar, day=data["date"], name=data["name"])
        return Response(HolidaySerializer(holiday).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"holidays/(?P<day>[0-9]{4}-[0-9]{2}-[0-9]{2})",
    )
    def holiday_delete(self, request, pk=None, day=None):
        """Remove the holiday on `day` (YYYY-MM-DD): a new version from now on."""
        holiday = get_object_or_404(Holiday, calendar=self.get_object(), date=day)
        services.holiday_delete(holiday=holiday)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=HolidayImportSerializer,
        responses={201: HolidayImportResultSerializer},
        examples=[OpenApiExample("Two years", value={"first_year": 2026, "last_year": 2027})],
    )
    @action(detail=True, methods=["post"], url_path="holidays/import")
    def holiday_import(self, request, pk=None):
        """Import the public holidays of the calendar's country preset for a range of years."""
        calendar = self.get_object()
        data = valid_data(HolidayImportSerializer, request)
        created = _through_service(services.calendar_holidays_import, calendar=calendar, **data)
        return Response({"created": created}, status=status.HTTP_201_CREATED)


class TargetInputSerializer(serializers.ModelSerializer):
    priority = serializers.ChoiceField(choices=Priority.choices)

    class Meta:
        model = SLATarget
        fields = ["priority", *TARGET_FIELDS]


class PolicyWriteSerializer(CleanModelSerializer):
    """A policy and its four priority targets (P1-P4), saved as one change."""

    targets = TargetInputSerializer(many=True)

    class Meta:
        model = SLAPolicy
        fields = [*POLICY_FIELDS, "targets"]
        # One default policy: the service hands the flag over, so it is no conflict here.
        extra_kwargs = {"is_default": {"validators": []}}

    def clean_exclude(self) -> list[str]:
        return ["is_default"]

    def validate(self, attrs):
        targets = attrs.pop("targets", None)
        attrs = super().validate(attrs)
        if targets is not None:
            priorities = [target["priority"] for target in targets]
            if sorted(priorities) != sorted(Priority.values):
                raise serializers.ValidationError(
                    {"targets": "Give one target for each priority P1-P4."}
                )
            attrs["targets"] = {target.pop("priority"): target for target in targets}
        return attrs

    def create(self, validated_data):
        return _through_service(services.policy_save, **validated_data)

    def update(self, instance, validated_data):
        if "targets" not in validated_data:  # a partial update keeps the targets it has
            validated_data["targets"] = {
                target.priority: {name: getattr(target, name) for name in TARGET_FIELDS}
                for target in instance.targets.all()
            }
        return _through_service(services.policy_save, policy=instance, **validated_data)

    def to_representation(self, instance):
        instance = PolicyViewSet.queryset.get(pk=instance.pk)
        return PolicySerializer(instance, context=self.context).data


_POLICY_WRITE_SCHEMA = extend_schema(
    request=PolicyWriteSerializer,
    responses=PolicySerializer,
    examples=[
        OpenApiExample(
            "Gold",
            value={
                "name": "Gold",
                "calendar": 1,
                "first_warning_percent": 75,
                "second_warning_percent": 90,
                "pause_statuses": ["waiting_on_client"],
                "targets": [
                    {"priority": "P1", "response_minutes": 15, "resolution_minutes": 240},
                    {"priority": "P2", "response_minutes": 30, "resolution_minutes": 480},
                    {"priority": "P3", "response_minutes": 120, "resolution_minutes": 1440},
                    {"priority": "P4", "response_minutes": 480, "resolution_minutes": 4320},
                ],
            },
            request_only=True,
        )
    ],
)


@extend_schema_view(
    create=_POLICY_WRITE_SCHEMA, update=_POLICY_WRITE_SCHEMA, partial_update=_POLICY_WRITE_SCHEMA
)
class PolicyViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, ReadOnlyStaffViewSet):
    queryset = SLAPolicy.objects.prefetch_related(
        Prefetch("targets", queryset=SLATarget.objects.order_by("priority"))
    ).order_by("id")
    serializer_class = PolicySerializer
    write_roles = SERVICE_MANAGER_ROLES

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return PolicyWriteSerializer
        return super().get_serializer_class()


class EscalationRuleSerializer(CleanModelSerializer):
    priorities = serializers.ListField(
        child=serializers.ChoiceField(choices=Priority.choices),
        required=False,
        max_length=len(Priority.values),
        help_text="The priorities it applies to; empty: all.",
    )

    class Meta:
        model = EscalationRule
        fields = ["id", "policy", *RULE_FIELDS]

    def validate(self, attrs):
        if self.instance is not None and attrs.get("policy", self.instance.policy) != (
            self.instance.policy
        ):
            raise serializers.ValidationError({"policy": "A rule stays with its policy."})
        return super().validate(attrs)

    def create(self, validated_data):
        return self._save(validated_data.pop("policy"), validated_data)

    def update(self, instance, validated_data):
        validated_data.pop("policy", None)
        return self._save(instance.policy, {"id": instance.pk, **validated_data})

    @staticmethod
    def _save(policy, row):
        (rule,) = _through_service(services.escalation_rules_save, policy=policy, rows=[row])
        return rule


ESCALATION_RULE_EXAMPLES = [
    OpenApiExample(
        "Page the lead on a P1 or P2 breach",
        value={
            "policy": 1,
            "name": "P1/P2 resolution breach: raise a tier, page the lead",
            "is_active": True,
            "trigger": "breach",
            "clock_kind": "resolution",
            "priorities": ["P1", "P2"],
            "minutes": None,
            "raise_tier": True,
            "reassign_to": None,
            "notify_assignee": True,
            "notify_team_lead": True,
            "notify_account_manager": True,
            "notify_client_contact": False,
            "notify_email": "oncall@msp.example",
        },
        request_only=True,
    ),
    OpenApiExample(
        "A P1 nobody acknowledged",
        value={
            "policy": 1,
            "name": "P1 not acknowledged in 10 minutes",
            "trigger": "unacknowledged",
            "clock_kind": "response",
            "priorities": ["P1"],
            "minutes": 10,
            "notify_team_lead": True,
            "notify_email": "noc-rota@msp.example",
        },
        request_only=True,
    ),
]


@extend_schema_view(
    create=extend_schema(examples=ESCALATION_RULE_EXAMPLES),
    update=extend_schema(examples=ESCALATION_RULE_EXAMPLES),
    partial_update=extend_schema(
        examples=[
            OpenApiExample("Switched off", value={"is_active": False}, request_only=True),
            OpenApiExample(
                "Warn the client too",
                value={"trigger": "second_warning", "notify_client_contact": True},
                request_only=True,
            ),
        ]
    ),
)
class EscalationRuleViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin, ReadOnlyStaffViewSet
):
    """A policy's escalation ladder: what happens at each warning, breach or silence."""

    queryset = EscalationRule.objects.select_related("policy").order_by("policy_id", "id")
    serializer_class = EscalationRuleSerializer
    filterset_fields = ["policy", "trigger", "is_active"]
    write_roles = SERVICE_MANAGER_ROLES

    def perform_destroy(self, instance):
        services.escalation_rules_save(
            policy=instance.policy, rows=[{"id": instance.pk, "delete": True}]
        )
