"""The generic JSON alert: one alert per request, in the PSA's own words."""

from rest_framework import serializers

from tickets.choices import AlertStatus
from tickets.intake.alerts import SEVERITY_LEVELS, AlertIn


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
        self.fields["severity"].choices = list(SEVERITY_LEVELS)

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

    def to_alerts(self) -> list[AlertIn]:
        return [self.to_alert()]
