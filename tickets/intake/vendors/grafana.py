"""Grafana unified alerting's webhook contact point (payload `"version": "1"`): Alertmanager's
group shape with Grafana's additions (orgId, title, state, message; per alert valueString,
values, silenceURL, dashboardURL, panelURL). The value that fired is kept in the details."""

from rest_framework import serializers

from tickets.choices import AlertStatus
from tickets.intake.alerts import AlertIn
from tickets.intake.vendors.alertmanager import AlertmanagerAlertSerializer, alert_in


class GrafanaAlertSerializer(AlertmanagerAlertSerializer):
    valueString = serializers.CharField(required=False, allow_blank=True)
    values = serializers.DictField(required=False, allow_null=True)
    dashboardURL = serializers.CharField(required=False, allow_blank=True)
    panelURL = serializers.CharField(required=False, allow_blank=True)
    silenceURL = serializers.CharField(required=False, allow_blank=True)


class GrafanaSerializer(serializers.Serializer):
    version = serializers.CharField()
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    alerts = GrafanaAlertSerializer(many=True, allow_empty=False)
    orgId = serializers.IntegerField(required=False)
    groupKey = serializers.CharField(required=False, allow_blank=True)
    title = serializers.CharField(required=False, allow_blank=True)

    def validate_version(self, version):
        if version != "1":
            raise serializers.ValidationError("Only Grafana's webhook version 1 is read.")
        return version

    def to_alerts(self) -> list[AlertIn]:
        group_status = self.validated_data["status"]
        alerts = []
        for alert in self.validated_data["alerts"]:
            parsed = alert_in(
                {**alert, "status": alert.get("status") or group_status}, source="grafana"
            )
            for key in ("valueString", "dashboardURL", "panelURL"):
                if alert.get(key):
                    parsed.details[key] = alert[key]
            alerts.append(parsed)
        return alerts
