"""Writes to contracts: creation and the status lifecycle."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from contracts.choices import CONTRACT_TRANSITIONS, ContractStatus, ContractType
from contracts.models import Contract
from msp.models import Client
from sla.models import SLAPolicy


@transaction.atomic
def contract_create(
    *,
    client: Client,
    number: str,
    name: str,
    type: str = ContractType.FULLY_MANAGED,
    start_date: date,
    end_date: date | None = None,
    sla_policy: SLAPolicy,
    monthly_fee: Decimal = Decimal("0.00"),
    currency: str = "USD",
    **fields,
) -> Contract:
    contract = Contract(
        client=client,
        number=number,
        name=name,
        type=type,
        start_date=start_date,
        end_date=end_date,
        sla_policy=sla_policy,
        monthly_fee=monthly_fee,
        currency=currency,
        **fields,
    )
    contract.full_clean()
    contract.save()
    return contract


@transaction.atomic
def contract_change_status(*, contract: Contract, status: str) -> Contract:
    """Move a contract along draft -> active -> expired/terminated (draft may be dropped)."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if status not in CONTRACT_TRANSITIONS[contract.status]:
        wanted = ContractStatus(status).label if status in ContractStatus.values else status
        current = contract.get_status_display().lower()
        raise ValidationError({"status": f"A {current} contract cannot become {wanted.lower()}."})
    if status == ContractStatus.ACTIVE:
        other = (
            Contract.objects.filter(client_id=contract.client_id, status=ContractStatus.ACTIVE)
            .exclude(pk=contract.pk)
            .first()
        )
        if other is not None:
            raise ValidationError(
                {"status": f"{contract.client} already has an active contract ({other.number})."}
            )
    contract.status = status
    contract.save(update_fields=["status", "updated_at"])
    return contract
