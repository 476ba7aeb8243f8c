"""Zabbix's webhook media type. Zabbix sends what its media type script builds from event
macros; ours (README, "Zabbix") posts them as one JSON object:

    event_id {EVENT.ID}, event_value {EVENT.VALUE} (1 problem, 0 recovery; PROBLEM/RESOLVED/OK
    are read too), event_severity {EVENT.SEVERITY}, event_name {EVENT.NAME}, host_host
    {HOST.HOST}, host_name {HOST.NAME}, trigger_id {TRIGGER.ID}, trigger_name {TRIGGER.NAME},
    event_tags {EVENT.TAGSJSON}, optionally event_date, event_time, zabbix_url and client.

The fingerprint is the trigger on its host, so that a trigger that clears and fires again is
the same alert (a flap), whatever its new event id."""

from rest_framework import serializers

from tickets.intake.alerts import DEFAULT_SEVERITY, SEVERITY_LEVELS, AlertIn

SEVERITIES = {
    "not classified": "info",
    "information": "info",
    "warning": "warning",
    "average": "minor",
    "high": "major",
    "disaster": "critical",
}
PROBLEM_VALUES = {"1", "problem"}
RECOVERY_VALUES = {"0", "resolved", "ok", "recovery"}


class ZabbixTagSerializer(serializers.Serializer):
    tag = serializers.CharField()
    value = serializers.CharField(allow_blank=True, required=False, default="")


class ZabbixSerializer(serializers.Serializer):
    event_id = serializers.CharField(max_length=50)
    event_value = serializers.CharField(max_length=20)
    event_severity = serializers.CharField(max_length=30, required=False, default="")
    event_name = serializers.CharField(max_length=500, required=False, allow_blank=True)
    host_host = serializers.CharField(max_length=255)
    host_name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    trigger_id = serializers.CharField(max_length=50, required=False, allow_blank=True)
    trigger_name = serializers.CharField(max_length=500, required=False, allow_blank=True)
    event_tags = ZabbixTagSerializer(many=True, required=False, default=list)
    event_date = serializers.CharField(required=False, allow_blank=True)
    event_time = serializers.CharField(required=False, allow_blank=True)
    zabbix_url = serializers.CharField(required=False, allow_blank=True)
    client = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")

    def validate_event_value(self, value):
        if value.lower() not in PROBLEM_VALUES | RECOVERY_VALUES:
            raise serializers.ValidationError("1 (problem) or 0 (recovery).")
        return value.lower()

    def validate(self, attrs):
        if not (attrs.get("event_name") or attrs.get("trigger_name")):
            raise serializers.ValidationError({"event_name": ["Name the event or trigger."]})
        return attrs

    def to_alerts(self) -> list[AlertIn]:
        data = self.validated_data
        tags = {tag["tag"]: tag.get("value", "") for tag in data["event_tags"]}
        severity = SEVERITIES.get(data["event_severity"].lower(), "")
        if severity not in SEVERITY_LEVELS:
            severity = DEFAULT_SEVERITY
        trigger = data.get("trigger_id") or f"event-{data['event_id']}"
        details = {
            "event_id": data["event_id"],
            "zabbix_severity": data["event_severity"],
            **{f"tag.{name}": value for name, value in tags.items()},
        }
        if data.get("zabbix_url"):
            details["source_url"] = data["zabbix_url"]
        return [
            AlertIn(
                source="zabbix",
                fingerprint=f"{trigger}@{data['host_host']}"[:200],
                status="firing" if data["event_value"] in PROBLEM_VALUES else "resolved",
                severity=severity,
                summary=(data.get("event_name") or data["trigger_name"])[:200],
                details=details,
                asset=data["host_host"],
                client=data["client"] or tags.get("client", ""),
            )
        ]
