"""Prometheus Alertmanager's webhook (version 4), as it is sent: a group of alerts, each with
labels, annotations and a fingerprint. Older Alertmanagers leave out each alert's status; the
group's status then applies to all of them."""

import hashlib
import json

from rest_framework import serializers

from tickets.choices import AlertStatus
from tickets.intake.alerts import DEFAULT_SEVERITY, SEVERITY_LEVELS, AlertIn


class AlertmanagerAlertSerializer(serializers.Serializer):
    # Older Alertmanagers send no per-alert status: the group's applies.
    status = serializers.ChoiceField(choices=AlertStatus.choices, required=False)
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
        group_status = self.validated_data["status"]
        return [
            alert_in({**alert, "status": alert.get("status") or group_status})
            for alert in self.validated_data["alerts"]
        ]


def alert_in(alert: dict, *, source: str = "alertmanager") -> AlertIn:
    """One Alertmanager-shaped alert (Grafana's alerts have the same shape)."""
    labels, annotations = alert["labels"], alert["annotations"]
    fingerprint = (
        alert.get("fingerprint")
        or hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    )
    severity = labels.get("severity", "").lower()
    if severity not in SEVERITY_LEVELS:
        severity = DEFAULT_SEVERITY
    host = labels.get("host") or labels.get("instance", "").rsplit(":", 1)[0]
    summary = annotations.get("summary") or labels["alertname"]
    details = {**labels, **{f"annotation.{k}": v for k, v in annotations.items()}}
    if alert.get("generatorURL"):
        details["source_url"] = alert["generatorURL"]
    return AlertIn(
        source=source,
        fingerprint=fingerprint,
        status=alert["status"],
        severity=severity,
        summary=summary,
        details=details,
        asset=host,
        client=labels.get("client", ""),
    )
