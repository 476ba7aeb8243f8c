from collections.abc import Callable

from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"

    # Billable minutes by work type on a contract between two local dates:
    # function(contract_id=, first_day=, next_first_day=) -> {work_type: minutes}. Time is
    # logged on tickets, a layer above, so the tickets app sets it from its ready(); without
    # that app, contracts show no billable time.
    billable_minutes: Callable[..., dict[str, int]] | None = None

    def ready(self) -> None:
        from contracts.models import (
            BreachExemption,
            ComplianceTarget,
            Contract,
            MaintenanceWindow,
            MonthlyEvaluation,
            Outage,
            RemediationPlan,
            ServiceLine,
        )
        from msp.audit.registry import audit_register

        # Audit trail: the contract, its pricing and targets, and the money and governance
        # decided on it. An evaluation's target results are its working, recomputed with it.
        audit_register(Contract)
        for part in (ServiceLine, ComplianceTarget, MaintenanceWindow, Outage, MonthlyEvaluation):
            audit_register(part, parent="contract")
        audit_register(RemediationPlan, parent="evaluation.contract")
        audit_register(BreachExemption)
