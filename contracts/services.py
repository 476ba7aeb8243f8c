"""Writes to contracts: creation and the status lifecycle."""

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from contracts.choices import CONTRACT_TRANSITIONS, ContractStatus, ContractType
from contracts.models import Contract
from msp.choices import OutboxChannel
from msp.models import Client
from msp.services import outbox_enqueue
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
        raise ValidationError(
            {"status": f"A contract that is {current} cannot become {wanted.lower()}."}
        )
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


@dataclass(frozen=True)
class RenewalRun:
    renewed: list[str]
    expired: list[str]
    warned: list[str]


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, monthrange(year, month)[1]))


@transaction.atomic
def contract_renewals_run(*, today: date) -> RenewalRun:
    """Daily: renew or expire active contracts past their end date, and tell each account
    manager once when a contract enters its notice period (the last day to give notice)."""
    renewed, expired, warned = [], [], []
    ending = Contract.objects.select_for_update(of=("self",)).filter(
        status=ContractStatus.ACTIVE, end_date__isnull=False
    )
    for contract in ending.filter(end_date__lt=today).order_by("pk"):
        if contract.auto_renew:
            # Count whole terms from the original end date, so that 31 January renews to the
            # last day of each month rather than drifting to the 28th.
            original, terms = contract.end_date, 0
            while contract.end_date < today:
                terms += 1
                contract.end_date = _add_months(original, terms * contract.renewal_months)
            contract.save(update_fields=["end_date", "updated_at"])
            renewed.append(contract.number)
        else:
            contract.status = ContractStatus.EXPIRED
            contract.save(update_fields=["status", "updated_at"])
            expired.append(contract.number)
    notice_due = ending.filter(end_date__gte=today).select_related("client__account_manager")
    for contract in notice_due.order_by("pk"):
        notice_from = contract.end_date - timedelta(days=contract.notice_days)
        manager = contract.client.account_manager
        if today < notice_from or manager is None:
            continue
        action = "renews automatically" if contract.auto_renew else "expires"
        message = outbox_enqueue(
            key=f"contract:{contract.pk}:notice:{contract.end_date.isoformat()}",
            channel=OutboxChannel.EMAIL,
            subject=f"Contract {contract.number} ({contract.client}) {action} "
            f"on {contract.end_date}",
            body=(
                f"{contract.name} for {contract.client} {action} on {contract.end_date:%d %b %Y}.\n"
                f"Its notice period of {contract.notice_days} days started on "
                f"{notice_from:%d %b %Y}: renew, renegotiate or give notice now.\n"
            ),
            recipient=manager,
        )
        if message is not None:
            warned.append(contract.number)
    return RenewalRun(renewed, expired, warned)


def next_statuses(contract: Contract) -> list[str]:
    return sorted(CONTRACT_TRANSITIONS[contract.status])
