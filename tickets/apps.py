from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"

    def ready(self) -> None:
        from tickets.selectors import contract_usage

        # Contract pages show the billable time logged on tickets (contracts is a layer below).
        self.apps.get_app_config("contracts").billable_minutes = contract_usage
