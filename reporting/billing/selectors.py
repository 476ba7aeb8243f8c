"""Reads of billing: what a run bills (contracts, approved time, tickets, spend, credits, all
less what an invoice already claims), and invoices with their lines."""

from datetime import date

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from contracts.choices import ContractStatus
from contracts.models import Contract, MonthlyEvaluation, ServiceLine, TargetResult
from reporting.billing.choices import DocumentKind, InvoiceStatus
from reporting.billing.models import (
    BlockHoursPeriod,
    HourlyRate,
    Invoice,
    InvoicedItem,
    InvoiceLine,
    SpendRecord,
    TaxRate,
)
from tickets.choices import TicketStatus
from tickets.models import Ticket, TimeEntry
from tickets.selectors import approved_billable_time

# Contracts billed: active ones, and those that ended (expired or terminated) whose last
# period is still to bill. Drafts never are.
BILLED_CONTRACT_STATUSES = (
    ContractStatus.ACTIVE,
    ContractStatus.EXPIRED,
    ContractStatus.TERMINATED,
)


def _unclaimed(field: str):
    return ~Exists(InvoicedItem.objects.filter(**{field: OuterRef("pk")}, released_at__isnull=True))


def contracts_billed_in(*, first_day: date, end_day: date, client_ids=None) -> QuerySet[Contract]:
    """Contracts whose term overlaps [first_day, end_day), with their service lines and client:
    two queries whatever their number."""
    contracts = Contract.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gte=first_day),
        status__in=BILLED_CONTRACT_STATUSES,
        start_date__lt=end_day,
    )
    if client_ids is not None:
        contracts = contracts.filter(client_id__in=list(client_ids))
    lines = Prefetch("service_lines", queryset=ServiceLine.objects.order_by("pk"))
    return contracts.select_related("client").prefetch_related(lines).order_by("client_id", "pk")


def approved_time_unbilled(*, client_ids, start: date, end: date) -> QuerySet[TimeEntry]:
    """Approved billable time of these clients spent in [start, end) that no invoice claims,
    with the contract of its ticket (tickets.selectors.approved_billable_time decides what is
    approved billable time)."""
    entries = approved_billable_time(client_ids=client_ids, start=start, end=end)
    return entries.filter(_unclaimed("time_entry")).select_related(None).order_by("spent_on", "pk")


def tickets_opened_unbilled(*, contract_ids, start, end) -> QuerySet[Ticket]:
    """Tickets opened in [start, end) (instants) under these contracts, neither cancelled nor
    merged into another, that no invoice charges yet."""
    return (
        Ticket.objects.filter(
            contract_id__in=list(contract_ids), created_at__gte=start, created_at__lt=end
        )
        .exclude(status=TicketStatus.CANCELLED)
        .filter(merged_into__isnull=True)
        .filter(_unclaimed("ticket"))
        .order_by("created_at", "pk")
    )


def spend_unbilled(*, contract_ids, start: date, end: date) -> QuerySet[SpendRecord]:
    return (
        SpendRecord.objects.filter(
            contract_id__in=list(contract_ids), month__gte=start, month__lt=end
        )
        .filter(_unclaimed("spend_record"))
        .order_by("month", "pk")
    )


def credits_uncredited(*, contract_ids, start: date, end: date) -> QuerySet[MonthlyEvaluation]:
    """Evaluations owing a credit, months in [start, end), not yet on an invoice, each with
    its missed targets."""
    missed = Prefetch(
        "results", queryset=TargetResult.objects.filter(met=False).order_by("pk"), to_attr="missed"
    )
    return (
        MonthlyEvaluation.objects.filter(
            contract_id__in=list(contract_ids),
            month__gte=start,
            month__lt=end,
            credit_amount__gt=0,
        )
        .filter(_unclaimed("evaluation"))
        .prefetch_related(missed)
        .order_by("month", "pk")
    )


def block_ledgers_before(*, service_line_ids, before: date) -> dict[int, BlockHoursPeriod]:
    """Each block line's latest ledger period ending by `before` (not released): the lots it
    carries out are what the next period opens with."""
    latest: dict[int, BlockHoursPeriod] = {}
    rows = BlockHoursPeriod.objects.filter(
        service_line_id__in=list(service_line_ids),
        period_end__lte=before,
        released_at__isnull=True,
    ).order_by("service_line_id", "period_end")
    for row in rows:
        latest[row.service_line_id] = row
    return latest


def rate_cards(*, client_id: int) -> tuple[dict, dict]:
    """(client's rates, default rates), each {(currency, work_type): rate}: one query."""
    client_rates, default_rates = {}, {}
    for rate in HourlyRate.objects.filter(Q(client_id=client_id) | Q(client__isnull=True)):
        target = default_rates if rate.client_id is None else client_rates
        target[(rate.currency, rate.work_type)] = rate.rate
    return client_rates, default_rates


def client_tax_rates(*, client_id: int) -> list[TaxRate]:
    return list(TaxRate.objects.filter(clients__client_id=client_id, is_active=True).order_by("pk"))


def invoices_with_lines(*, queryset=None) -> QuerySet[Invoice]:
    """Invoices with client and lines (two queries whatever their number)."""
    invoices = Invoice.objects.all() if queryset is None else queryset
    return invoices.select_related("client", "credited_invoice").prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("position"))
    )


def invoices_of_run_period(*, client_id: int, keys) -> dict[tuple, Invoice]:
    """The client's invoices (not void) for (currency, period start, period end) keys."""
    found = Invoice.objects.filter(
        client_id=client_id, kind=DocumentKind.INVOICE, period_start__in={key[1] for key in keys}
    ).exclude(status=InvoiceStatus.VOID)
    return {(i.currency, i.period_start, i.period_end): i for i in found}


def time_entries_invoiced(*, entry_ids) -> set[int]:
    """Which of these time entries an invoice (draft or final, not voided) bills."""
    return set(
        InvoicedItem.objects.filter(
            time_entry_id__in=list(entry_ids), released_at__isnull=True
        ).values_list("time_entry_id", flat=True)
    )
