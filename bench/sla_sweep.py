"""Benchmark: the SLA timer sweep with 1,000,000 open tickets and 1,000 clocks due.

    .venv/bin/python bench/sla_sweep.py [--tickets 1000000] [--due 1000] [--workers 1 2 4]

Seeds (once, kept for reuse) a PostgreSQL database where every ticket is open, makes `--due`
resolution clocks overdue (started three days ago, so their warnings and breach are all due),
then prints the plan and time of the query that finds due clocks, the time of one sweep, and
the milestones (warnings, breaches with escalation and notifications) processed per second by
one process. With `--workers`, the due clocks are reset and swept again by that many worker
processes at once (each running the sweep, as several Celery workers would), for each count
given, to show how throughput grows with processes against one PostgreSQL. Run it again to
measure again: the due clocks are reset each time.
"""

import argparse
import multiprocessing
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from records import record
from tickets_workspace import configure, ensure_database, seed


def make_due(count: int) -> None:
    from django.db import transaction

    from sla.models import SLAClock, SLAEvent
    from tickets.models import Ticket, TimelineEvent

    now = datetime.now(UTC)
    started = now - timedelta(days=3)
    with transaction.atomic():
        from django.db import connection

        # Resetting a bench run rewrites the SLA record, which its triggers refuse: the bench
        # (as the database superuser) switches them off for this transaction only.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
        # The seed's checks are not meant to be due: only the chosen clocks should be.
        SLAClock.objects.filter(next_check_at__lte=now + timedelta(hours=1)).update(
            next_check_at=now + timedelta(days=1)
        )
        clocks = list(
            SLAClock.objects.filter(kind="resolution", state="running").order_by("pk")[:count]
        )
        ticket_ids = [clock.ticket_id for clock in clocks]
        SLAEvent.objects.filter(clock__in=clocks).delete()
        TimelineEvent.objects.filter(
            ticket_id__in=ticket_ids, kind__in=["sla_warning", "sla_breach", "escalated"]
        ).delete()
        Ticket.objects.filter(pk__in=ticket_ids).update(tier="L1")
        for clock in clocks:
            clock.history = {
                **clock.history,
                "started_at": started.isoformat(),
                "running": [[started.isoformat(), None, clock.history["target"][1]]],
                "target": [60, clock.history["target"][1]],
            }
            clock.started_at = started  # the column and the history agree, as the triggers want
            clock.milestones_fired = []
            clock.next_check_at = now - timedelta(seconds=30)
        SLAClock.objects.bulk_update(
            clocks, ["history", "started_at", "milestones_fired", "next_check_at"]
        )
    # The set-up rewrites many clocks; clean up after it as autovacuum would in steady state.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE sla_slaclock")
    print(f"{len(clocks):,} resolution clocks made overdue")


def run(*, tickets: int = 1_000_000, due: int = 1_000, workers: tuple[int, ...] = ()) -> list[dict]:
    """Time the due-clock query and one sweep, then a sweep by each number of `workers`
    processes at once; print them and return them as records."""
    database = f"msp_bench_open_{tickets}"
    must_seed = ensure_database(database, reseed=False)
    configure(database)
    if must_seed:
        seed(tickets, random.Random(7), open_share=1.0)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # a database seeded by an older version catches up

    from django.db import connection
    from django.utils import timezone

    from sla.models import SLAClock, SLAPolicy
    from sla.services import escalation_rules_default_ensure
    from tickets.models import Ticket
    from tickets.timers.sweep import sla_sweep

    escalation_rules_default_ensure(policy=SLAPolicy.objects.get(is_default=True))
    print(f"{Ticket.objects.open().count():,} open tickets, {SLAClock.objects.count():,} clocks")
    make_due(due)
    now = timezone.now()
    due_clocks = (
        SLAClock.objects.filter(next_check_at__lte=now)
        .order_by("next_check_at")
        .values_list("ticket_id", flat=True)[:100]
    )
    plan = due_clocks.explain()
    scan = "index scan" if "Index" in plan else "NO INDEX"
    print(f"due-clock query plan: {scan}: {plan.splitlines()[0][:100]}")
    started = time.perf_counter()
    with connection.cursor():
        found = len(list(due_clocks))
    query_ms = (time.perf_counter() - started) * 1000
    print(f"due-clock query: {query_ms:.2f} ms")
    started = time.perf_counter()
    result = sla_sweep(now=now, budget_seconds=600)
    elapsed = time.perf_counter() - started
    print(
        f"one sweep: {elapsed:.2f} s for {result.tickets:,} tickets and {result.milestones:,} "
        f"milestones ({result.milestones / elapsed:,.0f} milestones/s, "
        f"{result.tickets / elapsed:,.0f} tickets/s, one process)"
    )
    started = time.perf_counter()
    empty = sla_sweep(now=now)
    idle_ms = (time.perf_counter() - started) * 1000
    print(f"a sweep with nothing due: {idle_ms:.1f} ms ({empty.milestones} milestones)")
    return [
        record(f"due-clock query ({scan})", p50_ms=query_ms, rows=found),
        record(
            f"one sweep over {due:,} due tickets",
            p50_ms=elapsed * 1000,
            rows=result.tickets,
            throughput=result.tickets / elapsed,
            unit="tickets/s",
        ),
        record(
            f"one sweep over {due:,} due tickets: milestones",
            rows=result.milestones,
            throughput=result.milestones / elapsed,
            unit="milestones/s",
        ),
        record("a sweep with nothing due", p50_ms=idle_ms, rows=empty.milestones),
    ] + [run_workers(tickets=tickets, due=due, workers=count) for count in workers]


def _worker(now, results) -> None:
    from django.db import connections

    from tickets.timers.sweep import sla_sweep

    connections.close_all()  # a fresh connection per process, not the parent's socket
    swept = sla_sweep(now=now, budget_seconds=600)
    results.put((swept.tickets, swept.milestones, swept.busy))


def run_workers(*, tickets: int, due: int, workers: int) -> dict:
    """Reset the due clocks, then sweep them with `workers` processes at once."""
    from django.db import connections
    from django.utils import timezone

    make_due(due)
    now = timezone.now()
    connections.close_all()  # forked processes must not share the parent's connection
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [context.Process(target=_worker, args=(now, results)) for _ in range(workers)]
    started = time.perf_counter()
    for process in processes:
        process.start()
    outcomes = [results.get() for _ in processes]
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    swept = sum(outcome[0] for outcome in outcomes)
    milestones = sum(outcome[1] for outcome in outcomes)
    print(
        f"{workers} worker process(es): {elapsed:.2f} s for {swept:,} tickets and "
        f"{milestones:,} milestones ({milestones / elapsed:,.0f} milestones/s, "
        f"{elapsed * 1000 / max(milestones, 1):.2f} ms per milestone; per worker: "
        + ", ".join(f"{t:,} tickets" for t, _, _ in outcomes)
        + ")"
    )
    return record(
        f"sweep of {due:,} due tickets by {workers} worker process(es)",
        p50_ms=elapsed * 1000,
        rows=milestones,
        throughput=milestones / elapsed,
        unit="milestones/s",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--workers", type=int, nargs="*", default=[])
    options = parser.parse_args()
    run(tickets=options.tickets, due=options.due, workers=tuple(options.workers))


if __name__ == "__main__":
    main()
