from django.apps import AppConfig


class SlaConfig(AppConfig):
    verbose_name = "SLA"
    name = "sla"

    def ready(self) -> None:
        from msp.audit.registry import audit_register
        from sla.models import (
            BusinessCalendar,
            EscalationRule,
            Holiday,
            SLAPolicy,
            SLATarget,
            WorkingInterval,
        )

        # Audit trail: calendars and policies, each with the rows that make it up.
        audit_register(BusinessCalendar)
        audit_register(WorkingInterval, parent="calendar")
        audit_register(Holiday, parent="calendar")
        audit_register(SLAPolicy)
        audit_register(SLATarget, parent="policy")
        audit_register(EscalationRule, parent="policy")
