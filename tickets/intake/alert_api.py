"""POST /api/v1/alerts/ (generic JSON), /api/v1/alerts/alertmanager/ (Prometheus
Alertmanager's webhook, version 4, as it is sent), /api/v1/alerts/grafana/ (Grafana unified
alerting, version 1) and /api/v1/alerts/zabbix/ (Zabbix's webhook media type); each vendor's
payload is parsed in its module of tickets.intake.vendors. All answer 202 with what became of each
alert; an alert whose client or asset is unknown is kept as unrouted (never dropped); payloads
that are not valid get 400 with the reason and create nothing."""

from collections import Counter

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from msp.metrics.recorder import metric_count
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

# Payloads as each sender posts them (the shapes of tests/tickets/alert_fixtures/): fields a
# parser does not read (receiver, commonLabels, externalURL...) are sent anyway and ignored.
GENERIC_FIRING = {
    "source": "ninjaone",
    "fingerprint": "backup-nightly-s@rmm-acme-002",
    "status": "firing",
    "severity": "major",
    "summary": "ACME-FS01: backup job 'Nightly S:' failed",
    "details": {
        "job": "Nightly S:",
        "error": "VSS snapshot timed out",
        "last_success": "2026-11-28",
    },
    "asset": "rmm-acme-002",
    "client": "acme",
}
GENERIC_RESOLVED = {
    "source": "ninjaone",
    "fingerprint": "backup-nightly-s@rmm-acme-002",
    "status": "resolved",
    "severity": "major",
    "summary": "ACME-FS01: backup job 'Nightly S:' succeeded",
    "host": "acme-fs01.acme.local",
    "client": "acme",
}


def _alertmanager_alert(status: str, instance: str, fingerprint: str, ends_at: str) -> dict:
    host = instance.split(".", 1)[0]
    return {
        "status": status,
        "labels": {
            "alertname": "DiskSpaceLow",
            "client": "acme",
            "device": "/dev/sdb1",
            "instance": f"{instance}:9100",
            "job": "node",
            "mountpoint": "/srv/data",
            "severity": "critical",
        },
        "annotations": {
            "summary": f"{host}: /srv/data has less than 5 % space left",
            "description": f"{instance}:9100 /srv/data is 96.2 % full.",
            "runbook_url": "https://wiki.msp.example/runbooks/disk-space",
        },
        "startsAt": "2026-11-30T06:12:41.512Z",
        "endsAt": ends_at,
        "generatorURL": (
            "http://prometheus.acme.local:9090/graph?g0.expr=node_filesystem_avail_bytes"
            "+%2F+node_filesystem_size_bytes+%3C+0.05&g0.tab=1"
        ),
        "fingerprint": fingerprint,
    }


ALERTMANAGER_GROUP = {
    "alertname": "DiskSpaceLow",
    "client": "acme",
}
ALERTMANAGER_FIRING = {
    "version": "4",
    "groupKey": '{}/{client="acme"}:{alertname="DiskSpaceLow"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "psa",
    "groupLabels": ALERTMANAGER_GROUP,
    "commonLabels": {**ALERTMANAGER_GROUP, "job": "node", "severity": "critical"},
    "commonAnnotations": {"runbook_url": "https://wiki.msp.example/runbooks/disk-space"},
    "externalURL": "http://alertmanager.acme.local:9093",
    "alerts": [
        _alertmanager_alert(
            "firing", "acme-fs01.acme.local", "7c1e5a0f3d92b846", "0001-01-01T00:00:00Z"
        ),
        _alertmanager_alert(
            "firing", "acme-app02.acme.local", "2b9d4e61c08a7f35", "0001-01-01T00:00:00Z"
        ),
    ],
}
ALERTMANAGER_RESOLVED = {
    **ALERTMANAGER_FIRING,
    "status": "resolved",
    "alerts": [
        _alertmanager_alert(
            "resolved", "acme-fs01.acme.local", "7c1e5a0f3d92b846", "2026-11-30T07:03:11.512Z"
        )
    ],
}
GRAFANA_FIRING = {
    "receiver": "PSA webhook",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "High memory usage",
                "client": "globex",
                "grafana_folder": "Globex servers",
                "instance": "glx-esx01:9100",
                "severity": "critical",
            },
            "annotations": {
                "summary": "glx-esx01 memory almost exhausted",
                "description": "Memory above 95 % for 10 minutes",
                "runbook_url": "https://wiki.msp.example/runbooks/memory",
            },
            "startsAt": "2026-11-30T10:51:03.157076+01:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.msp.example/alerting/grafana/1afz29v7z/view?orgId=1",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": (
                "https://grafana.msp.example/alerting/silence/new?alertmanager=grafana"
                "&matcher=alertname%3DHigh+memory+usage&matcher=instance%3Dglx-esx01%3A9100"
            ),
            "dashboardURL": "https://grafana.msp.example/d/node-exporter?orgId=1",
            "panelURL": "https://grafana.msp.example/d/node-exporter?orgId=1&viewPanel=4",
            "values": {"B": 96.23943737541908, "C": 1},
            "valueString": (
                "[ var='B' labels={instance=glx-esx01:9100} value=96.23943737541908 ],"
                " [ var='C' labels={instance=glx-esx01:9100} value=1 ]"
            ),
        }
    ],
    "groupLabels": {"alertname": "High memory usage", "grafana_folder": "Globex servers"},
    "commonLabels": {
        "alertname": "High memory usage",
        "client": "globex",
        "grafana_folder": "Globex servers",
        "instance": "glx-esx01:9100",
        "severity": "critical",
    },
    "commonAnnotations": {"summary": "glx-esx01 memory almost exhausted"},
    "externalURL": "https://grafana.msp.example/",
    "version": "1",
    "groupKey": (
        '{}/{__grafana_autogenerated__="true"}/{__grafana_receiver__="PSA webhook"}'
        ':{alertname="High memory usage", grafana_folder="Globex servers"}'
    ),
    "truncatedAlerts": 0,
    "title": "[FIRING:1] High memory usage Globex servers (glx-esx01:9100 critical)",
    "state": "alerting",
    "message": "**Firing**\n\nValue: B=96.239, C=1\nLabels:\n - alertname = High memory usage\n",
}
GRAFANA_RESOLVED = {
    **GRAFANA_FIRING,
    "status": "resolved",
    "alerts": [
        {
            **GRAFANA_FIRING["alerts"][0],
            "status": "resolved",
            "endsAt": "2026-11-30T11:06:03.157076+01:00",
            "values": None,
            "valueString": "",
        }
    ],
    "title": "[RESOLVED:1] High memory usage Globex servers (glx-esx01:9100 critical)",
    "state": "ok",
}
ZABBIX_PROBLEM = {
    "event_id": "1843217",
    "event_value": "1",
    "event_severity": "High",
    "event_name": 'ACME-DC01: Windows service "Netlogon" is not running',
    "event_date": "2026.11.30",
    "event_time": "08:14:07",
    "host_host": "acme-dc01.acme.local",
    "host_name": "ACME-DC01",
    "trigger_id": "23441",
    "trigger_name": '{HOST.NAME}: Windows service "Netlogon" is not running',
    "event_tags": [
        {"tag": "client", "value": "acme"},
        {"tag": "component", "value": "os"},
        {"tag": "scope", "value": "availability"},
    ],
    "zabbix_url": "https://zabbix.msp.example/tr_events.php?triggerid=23441&eventid=1843217",
}
ZABBIX_RECOVERY = {
    **ZABBIX_PROBLEM,
    "event_value": "0",
    "event_time": "08:31:52",
}
OUTCOMES_EXAMPLE = {
    "results": [
        {"fingerprint": "7c1e5a0f3d92b846", "action": "opened", "ticket": 48231, "unrouted": None},
        {"fingerprint": "2b9d4e61c08a7f35", "action": "unrouted", "ticket": None, "unrouted": 311},
    ]
}


def _examples(*requests: tuple[str, dict], outcomes: dict) -> list[OpenApiExample]:
    return [
        *(OpenApiExample(name, value=value, request_only=True) for name, value in requests),
        OpenApiExample(
            "What became of each alert", value=outcomes, response_only=True, status_codes=["202"]
        ),
    ]


class AlertIntakeView(APIView):
    """Open, update or resolve tickets from monitoring alerts (alert or write tokens)."""

    alerts_endpoint = True
    serializer_class = GenericAlertSerializer
    metrics_endpoint = "generic"  # the endpoint label of msp_alerts_*_total

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if 400 <= response.status_code < 500:
            metric_count(
                "alerts_refused", endpoint=self.metrics_endpoint, code=str(response.status_code)
            )
        return response

    def check_size(self, request) -> None:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.ALERT_MAX_BYTES:
            raise PayloadTooLarge()

    def alerts_of(self, request) -> list[AlertIn]:
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.to_alerts()

    @extend_schema(
        request=GenericAlertSerializer,
        responses={202: OUTCOMES},
        examples=_examples(
            ("A failed backup from the RMM", GENERIC_FIRING),
            ("The backup succeeded again", GENERIC_RESOLVED),
            outcomes={
                "results": [
                    {
                        "fingerprint": "backup-nightly-s@rmm-acme-002",
                        "action": "opened",
                        "ticket": 48231,
                        "unrouted": None,
                    }
                ]
            },
        ),
    )
    def post(self, request):
        self.check_size(request)
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["Send one JSON object."]})
        alerts = self.alerts_of(request)
        outcomes = alerts_receive(alerts=alerts, user=request.user)
        for action, count in Counter(outcome.action for outcome in outcomes).items():
            metric_count("alerts_received", count, endpoint=self.metrics_endpoint, action=action)
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
    metrics_endpoint = "alertmanager"

    @extend_schema(
        request=AlertmanagerSerializer,
        responses={202: OUTCOMES},
        examples=_examples(
            ("A group of two firing alerts", ALERTMANAGER_FIRING),
            ("One of them resolved", ALERTMANAGER_RESOLVED),
            outcomes=OUTCOMES_EXAMPLE,
        ),
    )
    def post(self, request):
        return super().post(request)


class GrafanaIntakeView(AlertIntakeView):
    serializer_class = GrafanaSerializer
    metrics_endpoint = "grafana"

    @extend_schema(
        request=GrafanaSerializer,
        responses={202: OUTCOMES},
        examples=_examples(
            ("A firing alert", GRAFANA_FIRING),
            ("Resolved", GRAFANA_RESOLVED),
            outcomes={
                "results": [
                    {
                        "fingerprint": "c6eadffa33fcdf37",
                        "action": "repeated",
                        "ticket": 48102,
                        "unrouted": None,
                    }
                ]
            },
        ),
    )
    def post(self, request):
        return super().post(request)


class ZabbixIntakeView(AlertIntakeView):
    serializer_class = ZabbixSerializer
    metrics_endpoint = "zabbix"

    @extend_schema(
        request=ZabbixSerializer,
        responses={202: OUTCOMES},
        examples=_examples(
            ("A problem", ZABBIX_PROBLEM),
            ("Its recovery", ZABBIX_RECOVERY),
            outcomes={
                "results": [
                    {
                        "fingerprint": "23441@acme-dc01.acme.local",
                        "action": "resolved",
                        "ticket": 48233,
                        "unrouted": None,
                    }
                ]
            },
        ),
    )
    def post(self, request):
        return super().post(request)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The payload is too large."
