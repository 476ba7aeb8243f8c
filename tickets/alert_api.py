"""POST /api/v1/alerts/ (generic JSON) and /api/v1/alerts/alertmanager/ (Prometheus
Alertmanager's webhook, version 4, as it is sent). Both answer 202 with what became of each
alert; an alert whose client or asset is unknown is kept as unrouted (never dropped); payloads
that are not valid get 400 with the reason and create nothing."""

import hashlib
import json
import logging

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.alerts import AlertIn, alert_receive, severity_levels
from tickets.choices import AlertStatus

log = logging.getLogger(__name__)


class GenericAlertSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=100, help_text="The monitoring system, e.g. zabbix.")
    fingerprint = serializers.CharField(
        max_length=200, help_text="Stable identity of the alert: repeats carry the same one."
    )
    status = serializers.ChoiceField(choices=AlertStatus.choices, default=AlertStatus.FIRING)
    severity = serializers.ChoiceField(
        choices=[], help_text="critical, error, major, warning, minor or info."
    )
    summary = serializers.CharField(max_length=200)
    details = serializers.DictField(required=False, default=dict)
    asset = serializers.CharField(
        max_length=255,
        required=False,
        default="",
        allow_blank=True,
        help_text="RMM id or host name.",
    )
    host = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    client = serializers.CharField(
        max_length=80,
        required=False,
        default="",
        allow_blank=True,
        help_text="Client id or slug.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["severity"].choices = list(severity_levels())

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {name: ["Unknown field."] for name in sorted(unknown)}
            )
        return attrs

    def to_alert(self) -> AlertIn:
        data = self.validated_data
        return AlertIn(
            source=data["source"],
            fingerprint=data["fingerprint"],
            status=data["status"],
            severity=data["severity"],
            summary=data["summary"],
            details=data["details"],
            asset=data["asset"] or data["host"],
            client=data["client"],
        )


class AlertmanagerAlertSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True))
    annotations = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, default=dict
    )
    startsAt = serializers.CharField(required=False, allow_blank=True)
    endsAt = serializers.CharField(required=False, allow_blank=True)
    generatorURL = serializers.CharField(required=False, allow_blank=True)
    fingerprint = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate_labels(self, labels):
        if not labels.get("alertname"):
            raise serializers.ValidationError("Every alert needs an alertname label.")
        return labels


class AlertmanagerSerializer(serializers.Serializer):
    version = serializers.CharField()
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    alerts = AlertmanagerAlertSerializer(many=True, allow_empty=False)
    groupKey = serializers.CharField(required=False, allow_blank=True)

    def validate_version(self, version):
        if version != "4":
            raise serializers.ValidationError("Only Alertmanager webhook version 4 is read.")
        return version

    def to_alerts(self) -> list[AlertIn]:
        return [_from_alertmanager(alert) for alert in self.validated_data["alerts"]]


def _from_alertmanager(alert: dict) -> AlertIn:
    labels, annotations = alert["labels"], alert["annotations"]
    fingerprint = (
        alert.get("fingerprint")
        or hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    )
    severity = labels.get("severity", "").lower()
    if severity not in severity_levels():
        severity = settings.ALERT_DEFAULT_SEVERITY
    host = labels.get("host") or labels.get("instance", "").rsplit(":", 1)[0]
    summary = annotations.get("summary") or labels["alertname"]
    details = {**labels, **{f"annotation.{k}": v for k, v in annotations.items()}}
    if alert.get("generatorURL"):
        details["source_url"] = alert["generatorURL"]
    return AlertIn(
        source="alertmanager",
        fingerprint=fingerprint,
        status=alert["status"],
        severity=severity,
        summary=summary,
        details=details,
        asset=host,
        client=labels.get("client", ""),
    )


OUTCOMES = inline_serializer(
    "AlertOutcomes",
    {
        "results": serializers.ListField(
            child=inline_serializer(
                "AlertOutcome",
                {
                    "fingerprint": serializers.CharField(),
                    "action": serializers.ChoiceField(
                        choices=[
                            "opened",
                            "repeated",
                            "reopened",
                            "resolved",
                            "noted",
                            "ignored",
                            "unrouted",
                        ]
                    ),
                    "ticket": serializers.IntegerField(allow_null=True),
                    "unrouted": serializers.IntegerField(
                        allow_null=True,
                        help_text="The kept alert's id when its client or asset is unknown.",
                    ),
                },
            )
        )
    },
)


class AlertIntakeView(APIView):
    """Open, update or resolve tickets from monitoring alerts (alert or write tokens)."""

    alerts_endpoint = True
    serializer_class = GenericAlertSerializer

    def check_size(self, request) -> None:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.ALERT_MAX_BYTES:
            raise PayloadTooLarge()

    def alerts_of(self, request) -> list[AlertIn]:
        serializer = GenericAlertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return [serializer.to_alert()]

    @extend_schema(request=GenericAlertSerializer, responses={202: OUTCOMES})
    def post(self, request):
        self.check_size(request)
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["Send one JSON object."]})
        alerts = self.alerts_of(request)
        results = []
        for alert in alerts:
            # Each alert on its own: one that cannot be routed is kept, never blocks the rest.
            outcome = alert_receive(alert=alert, user=request.user)
            results.append(
                {
                    "fingerprint": outcome.fingerprint,
                    "action": outcome.action,
                    "ticket": outcome.ticket_id,
                    "unrouted": outcome.unrouted_id,
                }
            )
        return Response({"results": results}, status=status.HTTP_202_ACCEPTED)


class AlertmanagerIntakeView(AlertIntakeView):
    serializer_class = AlertmanagerSerializer

    def alerts_of(self, request) -> list[AlertIn]:
        serializer = AlertmanagerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.to_alerts()

    @extend_schema(request=AlertmanagerSerializer, responses={202: OUTCOMES})
    def post(self, request):
        return super().post(request)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The payload is too large."
