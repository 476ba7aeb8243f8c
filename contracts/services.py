"""Writes to contracts: the lifecycle, renewals, the monthly evaluation (targets, governance
ladder, service credits), remediation plans and breach exemptions."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from contracts import selectors
from contracts.choices import (
    CONTRACT_TRANSITIONS,
    ContractStatus,
    ContractType,
    LadderStep,
    TargetKind,
)
from contracts.models import (
    BreachExemption,
    Contract,
    MonthlyEvaluation,
    Outage,
    RemediationPlan,
    TargetResult,
    default_currency,
)
from contracts.selectors import CENT
from msp.choices import OutboxChannel
from msp.models import Client
from msp.periods import Period, add_months
from msp.services import outbox_enqueue
from msp.validators import CONFLICT
from msp.webhooks.events import webhook_breach_exempted, webhook_contract_evaluated
from sla.models import SLAClock, SLAPolicy
from sla.rollups import clock_exemption_moved


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
    currency: str | None = None,
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
        currency=currency or default_currency(),
        **fields,
    )
    contract.full_clean()
    contract.save()
    return contract


@transaction.atomic
def contract_update(*, contract: Contract, **fields) -> Contract:
    """Change a contract's terms (not its client or status, which have their own rules)."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    for name, value in fields.items():
        if name in ("client", "client_id", "status"):
            raise ValidationError({name: "This cannot be changed here."})
        setattr(contract, name, value)
    contract.full_clean()
    contract.save()
    return contract


@transaction.atomic
def contract_part_save(*, part):
    """Save a service line, compliance target, maintenance window or outage of a contract,
    checked as a whole (the contract row locked, so two editors do not interleave)."""
    Contract.objects.select_for_update().filter(pk=part.contract_id).first()
    part.full_clean()
    part.save()
    return part


@transaction.atomic
def contract_part_delete(*, part) -> None:
    Contract.objects.select_for_update().filter(pk=part.contract_id).first()
    part.delete()


@transaction.atomic
def contract_change_status(*, contract: Contract, status: str) -> Contract:
    """Move a contract along draft -> active -> expired/terminated (draft may be dropped)."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if status not in CONTRACT_TRANSITIONS[contract.status]:
        wanted = ContractStatus(status).label if status in ContractStatus.values else status
        current = contract.get_status_display().lower()
        message = f"A contract that is {current} cannot become {wanted.lower()}."
        raise ValidationError({"status": ValidationError(message, code=CONFLICT)})
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
                contract.end_date = add_months(original, terms * contract.renewal_months)
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


def ladder_step_for(*, contract: Contract, consecutive_missed_months: int) -> str:
    """The rung reached after this many consecutive missed months."""
    months = consecutive_missed_months
    if months == 0:
        return LadderStep.OK
    if months >= contract.termination_after_months:
        return LadderStep.TERMINATION
    if months >= contract.credit_after_months:
        return LadderStep.CREDIT
    if months >= contract.remediation_after_months:
        return LadderStep.REMEDIATION
    return LadderStep.WARNING


def credit_for(*, contract: Contract, missed_targets: int, consecutive_missed_months: int):
    """(% of the monthly fee, amount) owed for a month: a credit per missed target, the higher
    one once misses have run long enough, capped; nothing below the ladder's credit rung."""
    if consecutive_missed_months < contract.credit_after_months or not missed_targets:
        return Decimal("0.00"), Decimal("0.00")
    each = (
        contract.escalated_credit_percent
        if consecutive_missed_months >= contract.escalate_after_months
        else contract.credit_percent
    )
    percent = min(each * missed_targets, contract.credit_cap_percent)
    amount = (contract.monthly_fee * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return percent, amount


def _month_results(contract: Contract, month: date) -> list[TargetResult]:
    period = Period.month(month.year, month.month)
    compliance = selectors.contract_month_compliance(contract=contract, period=period)
    results = [
        TargetResult(
            kind=TargetKind.COMPLIANCE,
            priority=row.target.priority,
            metric=row.target.metric,
            target_percent=row.target.percent,
            measured_percent=row.share,
            met_count=row.met,
            breached_count=row.breached,
            met=row.ok,
        )
        for row in compliance
    ]
    targets = selectors.service_targets(contract)
    measured = selectors.contract_availability(
        contract=contract, period=period, services=sorted(targets)
    )
    results += [
        TargetResult(
            kind=TargetKind.AVAILABILITY,
            service=service,
            target_percent=target,
            measured_percent=measured[service],
            met=selectors.target_met(measured[service], target),
        )
        for service, target in targets.items()
    ]
    return results


def _evaluate_one(contract: Contract, month: date) -> MonthlyEvaluation:
    results = _month_results(contract, month)
    missed = sum(not result.met for result in results)
    previous = contract.evaluations.filter(month=add_months(month, -1)).first()
    consecutive = (previous.consecutive_missed_months if previous else 0) + 1 if missed else 0
    percent, amount = credit_for(
        contract=contract, missed_targets=missed, consecutive_missed_months=consecutive
    )
    period = Period.month(month.year, month.month).bounds(contract.client.timezone)
    evaluation, _ = MonthlyEvaluation.objects.update_or_create(
        contract=contract,
        month=month,
        defaults={
            "missed_targets": missed,
            "consecutive_missed_months": consecutive,
            "ladder_step": ladder_step_for(
                contract=contract, consecutive_missed_months=consecutive
            ),
            "credit_percent": percent,
            "credit_amount": amount,
            "currency": contract.currency,
            "exempted_clocks": selectors.counted_clocks(
                concluded=selectors.concluded_between(*period),
                contracts=[contract.pk],
                exempted=True,
            ).count(),
        },
    )
    evaluation.results.all().delete()
    for result in results:
        result.evaluation = evaluation
    TargetResult.objects.bulk_create(results)
    return evaluation


def _month_has_ended(contract: Contract, month: date, now: datetime) -> bool:
    _, end = Period.month(month.year, month.month).bounds(contract.client.timezone)
    return end <= now


@transaction.atomic
def contract_month_evaluate(*, contract: Contract, month: date, now: datetime) -> MonthlyEvaluation:
    """Measure a finished month against the contract's targets and record the ladder step and
    the credit; later months already evaluated are measured again, since their count of
    consecutive missed months depends on this one."""
    contract = Contract.objects.select_for_update().select_related("client").get(pk=contract.pk)
    month = month.replace(day=1)
    if month < contract.start_date.replace(day=1):
        raise ValidationError({"month": "The contract had not started in that month."})
    if not _month_has_ended(contract, month, now):
        raise ValidationError({"month": "Only a month that has ended can be evaluated."})
    evaluation = _evaluate_one(contract, month)
    later = contract.evaluations.filter(month__gt=month).order_by("month")
    for following in later.values_list("month", flat=True):
        _evaluate_one(contract, following)
    if evaluation.ladder_step != LadderStep.OK:
        _tell_account_manager(contract, evaluation)
    webhook_contract_evaluated(evaluation=evaluation)
    return evaluation


def _tell_account_manager(contract: Contract, evaluation: MonthlyEvaluation) -> None:
    manager = contract.client.account_manager
    if manager is None:
        return
    credit = (
        f" A credit of {evaluation.credit_amount} {evaluation.currency} "
        f"({evaluation.credit_percent} % of the fee) is owed."
        if evaluation.credit_amount
        else ""
    )
    outbox_enqueue(
        key=f"evaluation:{evaluation.pk}:{evaluation.ladder_step}",
        channel=OutboxChannel.EMAIL,
        subject=f"Contract {contract.number} ({contract.client}) missed "
        f"{evaluation.missed_targets} target(s) in {evaluation.month:%B %Y}",
        body=(
            f"{contract.name} missed {evaluation.missed_targets} target(s) in "
            f"{evaluation.month:%B %Y}, {evaluation.consecutive_missed_months} month(s) in a "
            f"row. Governance step: {evaluation.get_ladder_step_display()}.{credit}\n"
        ),
        recipient=manager,
        url=reverse("contracts:detail", args=[contract.pk]),
    )


@dataclass(frozen=True)
class EvaluationRun:
    evaluated: list[str]


def contract_evaluations_run(*, now: datetime) -> EvaluationRun:
    """Scheduled: evaluate each active contract's last finished month (in its client's time
    zone) if that month has no evaluation yet. Safe to run as often as wanted."""
    due = {}
    contracts = Contract.objects.filter(status=ContractStatus.ACTIVE).select_related("client")
    for contract in contracts.order_by("pk"):
        local_today = now.astimezone(selectors.client_zone(contract)).date()
        last_month = add_months(local_today.replace(day=1), -1)
        if last_month >= contract.start_date.replace(day=1):
            due[contract] = last_month
    done = set(  # one query for the months already evaluated
        MonthlyEvaluation.objects.filter(
            contract__in=list(due), month__in=set(due.values())
        ).values_list("contract_id", "month")
    )
    evaluated = []
    for contract, last_month in due.items():
        if (contract.pk, last_month) in done:
            continue
        contract_month_evaluate(contract=contract, month=last_month, now=now)
        evaluated.append(f"{contract.number} {last_month:%Y-%m}")
    return EvaluationRun(evaluated)


@transaction.atomic
def remediation_plan_add(
    *, evaluation: MonthlyEvaluation, author, summary: str, actions: str, due_date: date
) -> RemediationPlan:
    plan = RemediationPlan(
        evaluation=evaluation, author=author, summary=summary, actions=actions, due_date=due_date
    )
    plan.full_clean()
    plan.save()
    return plan


@transaction.atomic
def breach_exemption_grant(*, clock: SLAClock, user, cause: str, reason: str, at: datetime):
    """Take a breached clock out of compliance and credits, with a written reason."""
    clock = SLAClock.objects.select_for_update().get(pk=clock.pk)
    if clock.breached_at is None:
        raise ValidationError({"clock": "Only a breached clock can be exempted."})
    if not reason.strip():
        raise ValidationError({"reason": "Write why this breach is exempted."})
    if BreachExemption.objects.filter(clock=clock, revoked_at__isnull=True).exists():
        raise ValidationError({"clock": "This breach is exempted already."})
    exemption = BreachExemption(
        clock=clock, cause=cause, reason=reason.strip(), granted_by=user, granted_at=at
    )
    exemption.full_clean(exclude=["clock"])
    exemption.save()
    webhook_breach_exempted(exemption=exemption, clock=clock)
    clock_exemption_moved(clock=clock, exempted=True)
    return exemption


@transaction.atomic
def breach_exemption_revoke(*, exemption: BreachExemption, user, reason: str, at: datetime):
    exemption = BreachExemption.objects.select_for_update().get(pk=exemption.pk)
    if exemption.revoked_at is not None:
        raise ValidationError({"exemption": "This exemption was revoked already."})
    if not reason.strip():
        raise ValidationError({"revoke_reason": "Write why the exemption is revoked."})
    exemption.revoked_by, exemption.revoked_at = user, at
    exemption.revoke_reason = reason.strip()
    exemption.save(update_fields=["revoked_by", "revoked_at", "revoke_reason"])
    clock = SLAClock.objects.select_for_update().get(pk=exemption.clock_id)
    clock_exemption_moved(clock=clock, exempted=False)
    return exemption


@transaction.atomic
def outages_from_alert_open(*, asset, ticket, at: datetime, summary: str) -> list[Outage]:
    """A critical alert on an asset: an unplanned outage, from now, on each service line of the
    client's active contract that covers the asset's kind (its asset kinds), unless that
    service is already down. Technicians correct or close them in the contract pages."""
    on = timezone.localtime(at, ZoneInfo(asset.client.timezone)).date()
    contract = selectors.contract_active_for(client_id=asset.client_id, on=on)
    if contract is None:
        return []
    covering = {
        line.service for line in contract.service_lines.all() if asset.kind in line.asset_kinds
    }
    already_down = set(
        Outage.objects.filter(
            contract=contract, service__in=covering, end__isnull=True
        ).values_list("service", flat=True)
    )
    return [
        Outage.objects.create(
            contract=contract,
            service=service,
            start=at,
            planned=False,
            ticket=ticket,
            description=f"Opened by a critical monitoring alert: {summary}",
        )
        for service in sorted(covering - already_down)
    ]


@transaction.atomic
def outages_from_alert_close(*, outages, at: datetime) -> int:
    """The alert cleared: its outages still open end now (never before they started); one a
    technician has already ended or corrected is left as it is."""
    closed = 0
    for outage in Outage.objects.select_for_update().filter(
        pk__in=[o.pk for o in outages], end__isnull=True
    ):
        outage.end = max(at, outage.start + timedelta(seconds=1))
        outage.save(update_fields=["end"])
        closed += 1
    return closed
