"""Contracts, service lines, maintenance windows and outages over the API. Staff read; account
managers and administrators write, through the same services as the contract pages."""

from rest_framework import mixins, serializers

from contracts import services
from contracts.models import (
    CONTRACT_TERMS,
    ComplianceTarget,
    Contract,
    MaintenanceWindow,
    Outage,
    ServiceLine,
)
from msp.api.base import CleanModelSerializer, ScopedViewSet
from msp.choices import SERVICE_MANAGER_ROLES


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


class ContractViewSet(ContractApiViewSet):
    queryset = (
        Contract.objects.select_related("client")
        .prefetch_related("compliance_targets")
        .order_by("id")
    )
    serializer_class = ContractSerializer
    filterset_fields = ["client", "status", "type"]


class ContractPartViewSet(mixins.DestroyModelMixin, ContractApiViewSet):
    filterset_fields = ["contract"]

    def get_queryset(self):
        visible = Contract.objects.for_user(self.request.user)
        return self.queryset.filter(contract__in=visible)

    def perform_destroy(self, instance):
        services.contract_part_delete(part=instance)


class ServiceLineViewSet(ContractPartViewSet):
    queryset = ServiceLine.objects.order_by("id")
    serializer_class = ServiceLineSerializer


class MaintenanceWindowViewSet(ContractPartViewSet):
    queryset = MaintenanceWindow.objects.order_by("id")
    serializer_class = MaintenanceWindowSerializer


class OutageViewSet(ContractPartViewSet):
    queryset = Outage.objects.order_by("id")
    serializer_class = OutageSerializer
    filterset_fields = ["contract", "service", "planned"]
