from collections.abc import Callable

from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"

    # Billable minutes by work type on a contract between two local dates:
    # function(contract_id=, first_day=, next_first_day=) -> {work_type: minutes}. Time is
    # logged on tickets, a layer above, so the tickets app sets it from its ready(); without
    # that app, contracts show no billable time.
    billable_minutes: Callable[..., dict[str, int]] | None = None
