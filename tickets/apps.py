from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"

    def ready(self) -> None:
        from msp.audit.registry import audit_register
        from tickets.models import AlertSettings, Mailbox, PriorityMatrixCell, TimeEntry
        from tickets.selectors import contract_usage

        # Contract pages show the billable time logged on tickets (contracts is a layer below).
        self.apps.get_app_config("contracts").billable_minutes = contract_usage

        # Audit trail: intake and priority configuration. A mailbox's password is never kept
        # (audit_register leaves out every password field); polling state is not a change.
        audit_register(Mailbox, exclude=("last_polled_at", "last_error"))
        audit_register(AlertSettings)
        audit_register(PriorityMatrixCell)
        # Time entries are money once approved: every change, and who submitted, approved or
        # rejected them, is on the ticket's trail.
        audit_register(TimeEntry, parent="ticket")
