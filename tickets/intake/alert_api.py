"""POST /api/v1/alerts/ (generic JSON), /api/v1/alerts/alertmanager/ (Prometheus
Alertmanager's webhook, version 4, as it is sent), /api/v1/alerts/grafana/ (Grafana unified
alerting, version 1) and /api/v1/alerts/zabbix/ (Zabbix's webhook media type); each vendor's
payload is parsed in its module of tickets.intake.vendors. All answer 202 with what became of each
alert; an alert whose client or asset is unknown is kept as unrouted (never dropped); payloads
that are not valid get 400 with the reason and create nothing."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.intake.alerts import AlertIn, alerts_receive
from tickets.intake.vendors.alertmanager import AlertmanagerSerializer
from tickets.intake.vendors.generic import GenericAlertSerializer
from tickets.intake.vendors.grafana import GrafanaSerializer
from tickets.intake.vendors.zabbix import ZabbixSerializer

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
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.to_alerts()

    @extend_schema(request=GenericAlertSerializer, responses={202: OUTCOMES})
    def post(self, request):
        self.check_size(request)
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["Send one JSON object."]})
        alerts = self.alerts_of(request)
        outcomes = alerts_receive(alerts=alerts, user=request.user)
        results = [
            {
                "fingerprint": outcome.fingerprint,
                "action": outcome.action,
                "ticket": outcome.ticket_id,
                "unrouted": outcome.unrouted_id,
            }
            for outcome in outcomes
        ]
        return Response({"results": results}, status=status.HTTP_202_ACCEPTED)


class AlertmanagerIntakeView(AlertIntakeView):
    serializer_class = AlertmanagerSerializer

    @extend_schema(request=AlertmanagerSerializer, responses={202: OUTCOMES})
    def post(self, request):
        return super().post(request)


class GrafanaIntakeView(AlertIntakeView):
    serializer_class = GrafanaSerializer

    @extend_schema(request=GrafanaSerializer, responses={202: OUTCOMES})
    def post(self, request):
        return super().post(request)


class ZabbixIntakeView(AlertIntakeView):
    serializer_class = ZabbixSerializer

    @extend_schema(request=ZabbixSerializer, responses={202: OUTCOMES})
    def post(self, request):
        return super().post(request)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The payload is too large."
