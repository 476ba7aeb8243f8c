from datetime import date

import factory

from contracts.choices import ContractStatus
from contracts.models import Contract
from sla.models import SLAPolicy
from tests.factories.msp import ClientFactory


def the_default_policy() -> SLAPolicy:
    """The default policy the test database is made with (see tests/conftest.py)."""
    return SLAPolicy.objects.get(is_default=True)


class ContractFactory(factory.django.DjangoModelFactory):
    """A contract made through `contracts.services.contract_create` (validated as the app does),
    for a new client unless given one, on the default SLA policy unless given another. A
    `status` other than draft is reached through `contract_change_status`, as the app does."""

    class Meta:
        model = Contract

    client = factory.SubFactory(ClientFactory)
    number = factory.Sequence(lambda n: f"C-{n:04d}")
    name = "Managed IT"
    start_date = date(2026, 1, 1)
    sla_policy = factory.LazyFunction(the_default_policy)
    status = ContractStatus.DRAFT

    @classmethod
    def _create(cls, model_class, *args, status: str, **kwargs) -> Contract:
        from contracts.services import contract_change_status, contract_create

        contract = contract_create(**kwargs)
        if status != ContractStatus.DRAFT:
            contract = contract_change_status(contract=contract, status=status)
        return contract
