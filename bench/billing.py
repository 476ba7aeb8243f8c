"""Benchmark: an invoice run over 500 clients at 100,000 or 1,000,000 tickets.

    .venv/bin/python bench/billing.py --tickets 100000
    .venv/bin/python bench/billing.py --tickets 1000000

Seeds its own database (msp_bench_billing_<N>, kept for reuse; --reseed to rebuild) the way the
workspace bench does (500 clients, N tickets over a year, see bench/tickets_workspace.py), adds
what the reports bench adds (a contract per client, approved billable time on half of the
tickets) and then, once, what billing reads: every pricing model across the clients (per device,
per seat, retainer, block of hours, hourly, per ticket, percentage of spend with its monthly
spend records), a default rate card, a tax for half of the clients, and last month's
evaluations owing a service credit for a fifth of them. Then bills last month (the run is
undone before each repetition) and reports the total time, the time per client, and the SQL
queries per client (each client's transaction), which must not depend on the client's size;
when they differ, the statements that differ are printed.

Seeding takes long: 100,000 tickets about 15 minutes under load; 1,000,000 about 44 minutes
(tickets 30, contracts, time and SLA roll-ups 13; a 5.4 GB database) on the shared 2-core
machine at load 5-7. Measured 1 December 2026 at 1,000,000: 233 s for 500 clients, 440 ms
per client (median), 16 queries per client, 17 with a service credit (see README.md).
"""

import argparse
import random
import re
import statistics
import sys
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import reports as reports_bench  # noqa: E402 - after the path is set
import tickets_workspace as workspace  # noqa: E402
from records import record  # noqa: E402

MODELS = ["per_device", "per_seat", "fixed_retainer", "hourly", "per_ticket", "percent_of_spend"]


def open_database(tickets: int, reseed: bool) -> str:
    database = f"msp_bench_billing_{tickets}"
    must_seed = workspace.ensure_database(database, reseed)
    workspace.configure(database)
    if must_seed:
        workspace.seed(tickets, random.Random(42))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return database


def add_billing_data(month: date) -> None:
    """Pricing lines, rates, taxes, spend and credits, once (skipped when rates exist)."""
    from django.db import connection, transaction

    from contracts.models import Contract, MonthlyEvaluation, ServiceLine
    from msp.periods import add_months
    from reporting.billing.models import ClientTaxRate, HourlyRate, SpendRecord, TaxRate

    if HourlyRate.objects.exists():
        return
    started = time.perf_counter()
    with transaction.atomic():
        for work_type, rate in (("remote", "120"), ("onsite", "160"), ("project", "140")):
            HourlyRate.objects.create(work_type=work_type, currency="USD", rate=Decimal(rate))
        HourlyRate.objects.create(work_type="travel", currency="USD", rate=Decimal("70"))
        HourlyRate.objects.create(work_type="admin", currency="USD", rate=Decimal("90"))
        tax = TaxRate.objects.create(name="Sales tax", percent=Decimal("8.25"))
        contracts = list(Contract.objects.order_by("client_id"))
        lines, spend, credits, taxes = [], [], [], []
        for index, contract in enumerate(contracts):
            model = MODELS[index % len(MODELS)]
            extra = {
                "per_device": {"unit_price": Decimal("45")},
                "per_seat": {"unit_price": Decimal("35")},
                "fixed_retainer": {"unit_price": Decimal("300")},
                "hourly": {"hourly_rates": {"remote": "110.00"}},
                "per_ticket": {"unit_price": Decimal("25")},
                "percent_of_spend": {"spend_percent": Decimal("12")},
            }[model]
            service = "cloud" if model == "percent_of_spend" else "security"
            lines.append(
                ServiceLine(contract=contract, service=service, pricing_model=model, **extra)
            )
            if model == "percent_of_spend":
                spend.extend(
                    SpendRecord(
                        client_id=contract.client_id, contract=contract, service="cloud",
                        month=add_months(month, -back), amount=Decimal("8000") + index,
                        source="entered",
                    )
                    for back in (0, 1)
                )  # fmt: skip
            if index % 5 == 0:
                credits.append(
                    MonthlyEvaluation(
                        contract=contract, month=month, ladder_step="credit", missed_targets=1,
                        credit_percent=Decimal("5"), credit_amount=Decimal("125.00"),
                        currency=contract.currency,
                    )
                )  # fmt: skip
            if index % 2 == 0:
                taxes.append(ClientTaxRate(client_id=contract.client_id, tax_rate=tax))
        ServiceLine.objects.bulk_create(lines)
        SpendRecord.objects.bulk_create(spend)
        MonthlyEvaluation.objects.bulk_create(credits, ignore_conflicts=True)
        ClientTaxRate.objects.bulk_create(taxes)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_timeentry SET state = 'approved' WHERE state <> 'approved'")
        cursor.execute("ANALYZE")
    print(f"added billing data in {time.perf_counter() - started:.0f} s")


def undo_runs() -> None:
    """Every invoice and what it claimed, gone: each repetition bills the month afresh."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE reporting_invoicerun, reporting_invoice CASCADE")


SHAPE = re.compile(r"\b\d+\b|'[^']*'")


def _one_run(month: date) -> dict:
    """Bill the month once, timing and counting each client's transaction."""
    from django.db import connection

    from reporting.billing import services

    undo_runs()
    per_client: list[tuple[int, float, int, list[str]]] = []
    statements: list[str] = []
    original = services._bill_client

    def counted(**kwargs):
        before = len(statements)
        started = time.perf_counter()
        outcome = original(**kwargs)
        elapsed = time.perf_counter() - started
        taken = statements[before:]
        per_client.append((kwargs["client_id"], elapsed, len(taken), taken))
        return outcome

    def log(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    services._bill_client = counted
    started = time.perf_counter()
    try:
        with connection.execute_wrapper(log):
            run = services.invoice_run_create(month=month)
    finally:
        services._bill_client = original
    total = time.perf_counter() - started
    return {"total": total, "per_client": per_client, "all": len(statements), "run": run}


def measure(month: date, repeat: int) -> list[dict]:
    runs = [_one_run(month) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["total"])
    per_client = best["per_client"]
    seconds = [row[1] * 1000 for row in per_client]
    queries = Counter(row[2] for row in per_client)
    run = best["run"]
    print(
        f"invoice run over {len(per_client)} clients: {best['total']:.1f} s "
        f"(best of {repeat}), {best['all']} queries; invoices created {run.created}, "
        f"errors {len(run.errors)}"
    )
    print(
        f"  per client: median {statistics.median(seconds):.0f} ms, "
        f"p95 {sorted(seconds)[int(len(seconds) * 0.95) - 1]:.0f} ms, max {max(seconds):.0f} ms"
    )
    print(f"  queries per client: {dict(sorted(queries.items()))} (count: clients)")
    if len(queries) > 1:
        low = min(per_client, key=lambda row: row[2])
        high = max(per_client, key=lambda row: row[2])
        a = Counter(SHAPE.sub("?", sql)[:160] for sql in low[3])
        b = Counter(SHAPE.sub("?", sql)[:160] for sql in high[3])
        print(f"  client {high[0]} ({high[2]} queries) vs client {low[0]} ({low[2]}):")
        for shape in sorted(set(a) | set(b)):
            if a[shape] != b[shape]:
                print(f"    {b[shape]:>4} vs {a[shape]:>4}  {shape}")
    return [
        record(
            "billing: invoice run, per client (queries per client min/max)",
            p50_ms=statistics.median(seconds),
            p95_ms=sorted(seconds)[int(len(seconds) * 0.95) - 1],
            queries=f"{min(queries)}/{max(queries)}",
            rows=len(per_client),
            throughput=len(per_client) / best["total"],
            unit="clients/s",
        )
    ]


def run(*, tickets: int = 100_000, repeat: int = 2, reseed: bool = False) -> list[dict]:
    from msp.periods import add_months

    open_database(tickets, reseed)
    month = add_months(date.today().replace(day=1), -1)
    reports_bench.add_report_data(random.Random(7))
    add_billing_data(month)
    return measure(month, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    run(tickets=args.tickets, repeat=args.repeat, reseed=args.reseed)


if __name__ == "__main__":
    main()
