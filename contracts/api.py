"""Contracts, service lines, compliance targets, maintenance windows, outages, monthly
evaluations (with their credits and remediation plans) and breach exemptions over the API.
Staff read; account managers and administrators write, through the same services as the
contract pages."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from contracts import services
from contracts.choices import ContractStatus, ExemptionCause
from contracts.models import (
    CONTRACT_TERMS,
    BreachExemption,
    ComplianceTarget,
    Contract,
    MaintenanceWindow,
    MonthlyEvaluation,
    Outage,
    RemediationPlan,
    ServiceLine,
    TargetResult,
)
from msp.api.base import CleanModelSerializer, ScopedViewSet, valid_data
from msp.api.fields import StrictCharField
from msp.choices import SERVICE_MANAGER_ROLES
from msp.models import Client
from sla.models import SLAClock


def _request_examples(*, create: list[tuple], change: list[tuple]) -> dict:
    """Request examples of a resource: `create` (whole objects) for POST and PUT, `change` (a
    field or two) for PATCH."""

    def examples(pairs):
        return [OpenApiExample(name, value=value, request_only=True) for name, value in pairs]

    return {
        "create": extend_schema(examples=examples(create)),
        "update": extend_schema(examples=examples(create)),
        "partial_update": extend_schema(examples=examples(change)),
    }


CONTRACT_EXAMPLE = {
    "client": 3,
    "number": "ACME-2026-01",
    "name": "Acme Manufacturing fully managed IT",
    "type": "fully_managed",
    "start_date": "2026-01-01",
    "end_date": "2026-12-31",
    "auto_renew": True,
    "renewal_months": 12,
    "notice_days": 60,
    "billing_cycle": "monthly",
    "monthly_fee": "8450.00",
    "currency": "USD",
    "sla_policy": 1,
    "coverage_calendar": None,
    "credit_percent": "5.00",
    "escalated_credit_percent": "10.00",
    "escalate_after_months": 4,
    "credit_cap_percent": "20.00",
    "remediation_after_months": 2,
    "credit_after_months": 3,
    "termination_after_months": 6,
}
SERVICE_LINE_EXAMPLES = [
    (
        "Servers, per device",
        {
            "contract": 12,
            "service": "infrastructure",
            "pricing_model": "per_device",
            "unit_price": "45.00",
            "asset_kinds": ["server", "virtual_machine"],
            "availability_target": "99.900",
        },
    ),
    (
        "A block of hours",
        {
            "contract": 12,
            "service": "service_desk",
            "pricing_model": "block_of_hours",
            "unit_price": "2400.00",
            "block_hours": "20.00",
            "overage_rate": "135.00",
        },
    ),
    (
        "Hourly by work type",
        {
            "contract": 12,
            "service": "network",
            "pricing_model": "hourly",
            "hourly_rates": {"remote": "95.00", "onsite": "135.00", "travel": "65.00"},
        },
    ),
    (
        "A share of cloud spend",
        {
            "contract": 12,
            "service": "cloud",
            "pricing_model": "percent_of_spend",
            "spend_percent": "12.50",
            "managed_spend": "18000.00",
            "availability_target": "99.950",
        },
    ),
]
MAINTENANCE_WINDOW_EXAMPLES = [
    (
        "Sunday patching",
        {
            "contract": 12,
            "name": "Sunday patching",
            "asset": None,
            "start": "2026-12-06T02:00:00-05:00",
            "duration_minutes": 180,
            "recurrence": "FREQ=WEEKLY;BYDAY=SU",
            "pauses_sla": True,
        },
    ),
    (
        "A firewall's firmware upgrade",
        {
            "contract": 12,
            "name": "ACME-FW firmware 7.4.5",
            "asset": 41,
            "start": "2026-12-12T22:00:00-05:00",
            "duration_minutes": 90,
            "recurrence": "",
            "pauses_sla": True,
        },
    ),
]
OUTAGE_EXAMPLE = {
    "contract": 12,
    "service": "network",
    "start": "2026-11-18T14:05:00Z",
    "end": "2026-11-18T15:47:00Z",
    "planned": False,
    "ticket": 48213,
    "description": "ISP fibre cut at Plant 2; the LTE failover did not take over.",
}


class ComplianceTargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = ComplianceTarget
        fields = ["priority", "metric", "percent"]


class ContractSerializer(CleanModelSerializer):
    compliance_targets = ComplianceTargetSerializer(many=True, read_only=True)

    class Meta:
        model = Contract
        fields = ["id", *CONTRACT_TERMS, "status", "compliance_targets", "created_at", "updated_at"]
        # Status moves through its own rules (draft -> active -> ...), not a field write.
        read_only_fields = ["status", "created_at", "updated_at"]

    def validate(self, attrs):
        if (
            self.instance is not None
            and "client" in attrs
            and attrs["client"] != self.instance.client
        ):
            raise serializers.ValidationError({"client": "A contract stays with its client."})
        return super().validate(attrs)

    def create(self, validated_data):
        return services.contract_create(**validated_data)

    def update(self, instance, validated_data):
        validated_data.pop("client", None)
        return services.contract_update(contract=instance, **validated_data)


class ContractPartSerializer(CleanModelSerializer):
    def validate(self, attrs):
        contract = attrs.get("contract") or getattr(self.instance, "contract", None)
        user = self.context["request"].user
        if (
            contract is not None
            and not Contract.objects.for_user(user).filter(pk=contract.pk).exists()
        ):
            raise serializers.ValidationError({"contract": "No such contract."})
        return super().validate(attrs)

    def create(self, validated_data):
        return services.contract_part_save(part=self.Meta.model(**validated_data))

    def update(self, instance, validated_data):
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return services.contract_part_save(part=instance)


class ServiceLineSerializer(ContractPartSerializer):
    class Meta:
        model = ServiceLine
        fields = [
            "id",
            "contract",
            "service",
            "pricing_model",
            "unit_price",
            "asset_kinds",
            "block_hours",
            "overage_rate",
            "hourly_rates",
            "spend_percent",
            "managed_spend",
            "availability_target",
        ]


class MaintenanceWindowSerializer(ContractPartSerializer):
    class Meta:
        model = MaintenanceWindow
        fields = [
            "id",
            "contract",
            "name",
            "asset",
            "start",
            "duration_minutes",
            "recurrence",
            "pauses_sla",
        ]


class ComplianceTargetWriteSerializer(ContractPartSerializer):
    class Meta:
        model = ComplianceTarget
        fields = ["id", "contract", "priority", "metric", "percent"]


class OutageSerializer(ContractPartSerializer):
    class Meta:
        model = Outage
        fields = ["id", "contract", "service", "start", "end", "planned", "ticket", "description"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        contract = attrs.get("contract") or self.instance.contract
        ticket = attrs.get("ticket")
        if ticket is not None and ticket.client_id != contract.client_id:
            raise serializers.ValidationError({"ticket": "It belongs to another client."})
        return attrs


class ContractApiViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    write_roles = SERVICE_MANAGER_ROLES


class ContractPartViewSet(mixins.DestroyModelMixin, ContractApiViewSet):
    filterset_fields = ["contract"]

    def get_queryset(self):
        visible = Contract.objects.for_user(self.request.user)
        return self.queryset.filter(contract__in=visible)

    def perform_destroy(self, instance):
        services.contract_part_delete(part=instance)


@extend_schema_view(
    **_request_examples(
        create=SERVICE_LINE_EXAMPLES,
        change=[("A new price per device", {"unit_price": "48.00"})],
    )
)
class ServiceLineViewSet(ContractPartViewSet):
    queryset = ServiceLine.objects.order_by("id")
    serializer_class = ServiceLineSerializer


@extend_schema_view(
    **_request_examples(
        create=MAINTENANCE_WINDOW_EXAMPLES,
        change=[
            ("A longer window", {"duration_minutes": 240}),
            ("Patching moves to Saturdays", {"recurrence": "FREQ=WEEKLY;BYDAY=SA"}),
        ],
    )
)
class MaintenanceWindowViewSet(ContractPartViewSet):
    queryset = MaintenanceWindow.objects.order_by("id")
    serializer_class = MaintenanceWindowSerializer


@extend_schema_view(
    **_request_examples(
        create=[
            (
                "95 % of P1 responses",
                {"contract": 12, "priority": "P1", "metric": "response", "percent": "95.00"},
            ),
            (
                "90 % of P2 resolutions",
                {"contract": 12, "priority": "P2", "metric": "resolution", "percent": "90.00"},
            ),
        ],
        change=[("A stricter target", {"percent": "97.50"})],
    )
)
class ComplianceTargetViewSet(ContractPartViewSet):
    """A contract's compliance targets: the share of clocks of a priority and metric that
    must be met each month (what the monthly evaluation measures)."""

    queryset = ComplianceTarget.objects.order_by("id")
    serializer_class = ComplianceTargetWriteSerializer
    filterset_fields = ["contract", "priority", "metric"]


@extend_schema_view(
    **_request_examples(
        create=[
            ("An unplanned outage", OUTAGE_EXAMPLE),
            (
                "Still down",
                {
                    "contract": 12,
                    "service": "backup",
                    "start": "2026-11-30T06:12:00Z",
                    "end": None,
                    "planned": False,
                    "description": "Backup appliance unreachable after a power cut.",
                },
            ),
        ],
        change=[("Service is back", {"end": "2026-11-30T09:40:00Z"})],
    )
)
class OutageViewSet(ContractPartViewSet):
    queryset = Outage.objects.order_by("id")
    serializer_class = OutageSerializer
    filterset_fields = ["contract", "service", "planned"]


# Lifecycle and evaluation ------------------------------------------------------------------


class ContractStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ContractStatus.choices)


class EvaluateSerializer(serializers.Serializer):
    month = serializers.DateField(
        input_formats=["%Y-%m", "%Y-%m-%d"],
        help_text="The month to evaluate: 2026-10 (or any day of it). It must be over.",
    )


class TargetResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = TargetResult
        fields = [
            "kind",
            "priority",
            "metric",
            "service",
            "target_percent",
            "measured_percent",
            "met_count",
            "breached_count",
            "met",
        ]


class RemediationPlanSerializer(CleanModelSerializer):
    class Meta:
        model = RemediationPlan
        fields = ["id", "summary", "actions", "due_date", "author", "completed_at", "created_at"]
        read_only_fields = ["author", "completed_at", "created_at"]

    def clean_exclude(self) -> list[str]:
        return ["evaluation", "author"]  # given by the URL and the request


class EvaluationSerializer(serializers.ModelSerializer):
    results = TargetResultSerializer(many=True, read_only=True)
    plans = RemediationPlanSerializer(many=True, read_only=True)

    class Meta:
        model = MonthlyEvaluation
        fields = [
            "id",
            "contract",
            "month",
            "missed_targets",
            "consecutive_missed_months",
            "ladder_step",
            "credit_percent",
            "credit_amount",
            "currency",
            "exempted_clocks",
            "results",
            "plans",
            "created_at",
            "updated_at",
        ]


@extend_schema_view(
    **_request_examples(
        create=[("A year of fully managed IT", CONTRACT_EXAMPLE)],
        change=[
            ("Seats added", {"monthly_fee": "9120.00"}),
            ("Not renewed", {"auto_renew": False, "notice_days": 90}),
        ],
    )
)
class ContractViewSet(ContractApiViewSet):
    queryset = (
        Contract.objects.select_related("client")
        .prefetch_related("compliance_targets")
        .order_by("id")
    )
    serializer_class = ContractSerializer
    filterset_fields = ["client", "status", "type"]

    @extend_schema(
        request=ContractStatusSerializer,
        responses=ContractSerializer,
        examples=[
            OpenApiExample("Activate a draft", value={"status": "active"}, request_only=True),
            OpenApiExample("Terminate", value={"status": "terminated"}, request_only=True),
        ],
    )
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        """Move the contract along draft -> active -> expired or terminated (the same rules
        as the contract page; 409 when its current status does not allow the move)."""
        contract = self.get_object()  # 404 for a contract out of scope, before the body
        data = valid_data(ContractStatusSerializer, request)
        contract = services.contract_change_status(contract=contract, status=data["status"])
        return Response(ContractSerializer(contract, context={"request": request}).data)

    @extend_schema(
        request=EvaluateSerializer,
        responses={201: EvaluationSerializer},
        examples=[
            OpenApiExample(
                "October 2026",
                value={"month": "2026-10-01"},
                description='Any day of the month will do; "2026-10" is read too.',
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def evaluate(self, request, pk=None):
        """Evaluate a finished month (again, if it was already): targets, ladder step, credit."""
        contract = self.get_object()
        data = valid_data(EvaluateSerializer, request)
        evaluation = services.contract_month_evaluate(
            contract=contract, month=data["month"], now=timezone.now()
        )
        return Response(EvaluationSerializer(evaluation).data, status=status.HTTP_201_CREATED)


class EvaluationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Monthly evaluations with their targets' results, credits and remediation plans."""

    queryset = MonthlyEvaluation.objects.prefetch_related("results", "plans").order_by(
        "-month", "id"
    )
    serializer_class = EvaluationSerializer
    filterset_fields = ["contract", "month", "ladder_step"]
    write_roles = SERVICE_MANAGER_ROLES

    def get_queryset(self):
        return self.queryset.filter(contract__in=Contract.objects.for_user(self.request.user))

    @extend_schema(
        request=RemediationPlanSerializer,
        responses={201: RemediationPlanSerializer},
        examples=[
            OpenApiExample(
                "A plan",
                value={
                    "summary": "P1 response missed twice on night shifts",
                    "actions": "Add a second on-call engineer; review paging by 15 Dec.",
                    "due_date": "2026-12-15",
                },
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def plans(self, request, pk=None):
        """Add a remediation plan to a month that missed its targets."""
        evaluation = self.get_object()
        data = valid_data(RemediationPlanSerializer, request)
        plan = services.remediation_plan_add(evaluation=evaluation, author=request.user, **data)
        return Response(RemediationPlanSerializer(plan).data, status=status.HTTP_201_CREATED)


# Breach exemptions ---------------------------------------------------------------------------


class BreachExemptionSerializer(serializers.ModelSerializer):
    clock = serializers.PrimaryKeyRelatedField(queryset=SLAClock.objects.none())
    cause = serializers.ChoiceField(choices=ExemptionCause.choices)
    reason = StrictCharField()
    ticket = serializers.IntegerField(source="clock.ticket_id", read_only=True)

    class Meta:
        model = BreachExemption
        fields = [
            "id",
            "clock",
            "ticket",
            "cause",
            "reason",
            "granted_by",
            "granted_at",
            "revoked_by",
            "revoked_at",
            "revoke_reason",
        ]
        read_only_fields = [
            "granted_by",
            "granted_at",
            "revoked_by",
            "revoked_at",
            "revoke_reason",
        ]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:  # only the breached clocks of clients the user sees
            fields["clock"].queryset = _visible_clocks(request.user)
        return fields


class RevokeSerializer(serializers.Serializer):
    reason = StrictCharField(help_text="Why the breach counts again.")


def _visible_clocks(user):
    return SLAClock.objects.filter(client__in=Client.objects.for_user(user))


class BreachExemptionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet
):
    """Breaches taken out of compliance and credits: grant (POST) and revoke; a revoked
    exemption stays listed, with who revoked it and why."""

    queryset = BreachExemption.objects.select_related("clock").order_by("-granted_at", "-id")
    serializer_class = BreachExemptionSerializer
    filterset_fields = ["clock", "cause"]
    write_roles = SERVICE_MANAGER_ROLES

    def get_queryset(self):
        return self.queryset.filter(clock__in=_visible_clocks(self.request.user))

    @extend_schema(
        examples=[
            OpenApiExample(
                "Exempt a breach caused by the client",
                value={
                    "clock": 812,
                    "cause": "client",
                    "reason": "Site closed; no access to the rack until Monday.",
                },
                request_only=True,
            )
        ]
    )
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.breach_exemption_grant(
            clock=data["clock"],
            user=self.request.user,
            cause=data["cause"],
            reason=data["reason"],
            at=timezone.now(),
        )

    @extend_schema(
        request=RevokeSerializer,
        responses=BreachExemptionSerializer,
        examples=[
            OpenApiExample(
                "The delay was ours after all",
                value={
                    "reason": "Site log shows the rack was open from 09:00; we arrived at 13:20."
                },
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """Revoke an exemption in force: the breach counts again."""
        exemption = self.get_object()
        data = valid_data(RevokeSerializer, request)
        exemption = services.breach_exemption_revoke(
            exemption=exemption, user=request.user, reason=data["reason"], at=timezone.now()
        )
        return Response(BreachExemptionSerializer(exemption, context={"request": request}).data)
