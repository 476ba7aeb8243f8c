"""Benchmark: GET /metrics at 100,000 and 1,000,000 tickets.

    .venv/bin/python bench/metrics_scrape.py --tickets 1000000
    .venv/bin/python bench/metrics_scrape.py --database msp_bench_1000000 --read-only

By default it seeds its own database (msp_metrics_bench_<N>, kept for reuse; --reseed to
rebuild) with the workspace bench's tickets and clocks (bench/tickets_workspace.py), then a
year of the append-only rows the scrape counts: SLA events (one per two tickets), inbound
emails (one per ticket, a tenth ignored, a few quarantined) and unrouted alerts. With
--database and --read-only it measures an existing database as it is, writing nothing (the
shared bench databases).

Measured in-process (Django test client, no network): the first scrape of a process (the
running totals count their tables once), warm scrapes, and a warm scrape after the totals
settled; SQL queries per scrape, and the time each source of figures took.
"""

import argparse
import contextlib
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from records import latency, record  # noqa: E402 - after the path is set

TOKEN = "bench-metrics-token-0123456789abcdef0123"  # noqa: S105 - a bench-only value


def seed_append_only(tickets: int, rng: random.Random) -> None:
    """SLA events, inbound emails and unrouted alerts, by COPY, over the past year."""
    from django.db import connection
    from tickets_workspace import copy_rows

    from msp.models import User
    from sla.models import SLAClock, SLAEvent
    from tickets.models import InboundEmail, UnroutedAlert

    started = time.perf_counter()
    now = datetime.now(UTC)
    clock_ids = list(SLAClock.objects.order_by("pk").values_list("pk", flat=True)[::4])
    events = []
    for clock_id in clock_ids:
        due = now - timedelta(minutes=rng.randrange(365 * 24 * 60))
        late = timedelta(seconds=rng.choice([1, 2, 5, 10, 20, 40, 90]))
        events.append({"clock_id": clock_id, "key": "warning-75", "due_at": due})
        events[-1]["recorded_at"] = due + late
    for start in range(0, len(events), 50_000):
        copy_rows(SLAEvent, events[start : start + 50_000])
    print(f"  {len(events):,} SLA events ({time.perf_counter() - started:.0f} s)", flush=True)
    emails = []
    for n in range(tickets):
        status = "ignored" if n % 10 == 0 else "quarantined" if n % 5000 == 1 else "processed"
        received = now - timedelta(minutes=rng.randrange(365 * 24 * 60))
        emails.append(
            {
                "message_id": f"<bench-{n}@client.example>",
                "sender": "someone@client.example",
                "subject": "Printer",
                "raw": "\\x",  # an empty bytea
                "received_at": received,
                "status": status,
                "reason": "",
                "attempts": 1,
                "sender_verified": False,
            }
        )
        if len(emails) == 50_000:
            copy_rows(InboundEmail, emails)
            emails = []
    if emails:
        copy_rows(InboundEmail, emails)
    print(f"  {tickets:,} inbound emails ({time.perf_counter() - started:.0f} s)", flush=True)
    sender = User.objects.order_by("pk").first()
    UnroutedAlert.objects.bulk_create(
        UnroutedAlert(
            source="rmm",
            fingerprint=f"f{n}",
            status="firing",
            severity="major",
            summary="disk",
            reason="unknown asset",
            sender=sender,
            received_at=now,
            routed_at=now if n % 3 else None,
        )
        for n in range(300)
    )
    with connection.cursor() as cursor:
        for model in (SLAEvent, InboundEmail):
            table = model._meta.db_table
            sequence = f"pg_get_serial_sequence('{table}', 'id')"
            cursor.execute(f"SELECT setval({sequence}, (SELECT MAX(id) FROM {table}))")
            cursor.execute(f"ANALYZE {table}")


def open_database(tickets: int, database: str | None, read_only: bool, reseed: bool) -> str:
    import tickets_workspace

    if read_only:
        tickets_workspace.configure(database)
        return database
    database = database or f"msp_metrics_bench_{tickets}"
    must_seed = tickets_workspace.ensure_database(database, reseed)
    tickets_workspace.configure(database)
    if must_seed:
        try:  # psycopg2 refuses COPY while the database-hang watch's wait callback is set
            from msp.postgres.base import plain_waits
        except ImportError:
            plain_waits = contextlib.nullcontext
        with plain_waits():
            tickets_workspace.seed(tickets, random.Random(42))
            seed_append_only(tickets, random.Random(7))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return database


SLOWEST: list[tuple[float, str]] = []  # the last scrape's queries, slowest first


def scrape(http) -> tuple[float, int, bytes]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = http.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"/metrics answered {response.status_code}")
    SLOWEST[:] = sorted(
        ((float(query["time"]) * 1000, query["sql"]) for query in captured), reverse=True
    )
    return elapsed, len(captured), response.content


def print_slowest(count: int = 4) -> None:
    for ms, sql in SLOWEST[:count]:
        print(f"    {ms:7.1f} ms  {sql[:150]}")


def source_times(body: bytes) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    times = {}
    for family in text_string_to_metric_families(body.decode()):
        if family.name == "msp_scrape_collector_duration_seconds":
            for sample in family.samples:
                times[sample.labels["collector"]] = sample.value * 1000
    return times


def print_sources(body: bytes) -> None:
    times = source_times(body)
    print("    by source (ms): " + ", ".join(f"{name} {ms:.1f}" for name, ms in times.items()))


def run(
    *,
    tickets: int = 100_000,
    scrapes: int = 30,
    database: str | None = None,
    read_only: bool = False,
    reseed: bool = False,
) -> list[dict]:
    database = open_database(tickets, database, read_only, reseed)
    from django.conf import settings
    from django.core.cache import cache
    from django.test import Client as HttpClient
    from django.utils import timezone

    from msp.metrics import figures
    from msp.metrics.running import SETTLE
    from sla.models import SLAClock, SLAEvent
    from tickets.models import InboundEmail, Ticket

    settings.METRICS_TOKEN = TOKEN
    cache.clear()
    print(
        f"{database}: {Ticket.objects.count():,} tickets, {SLAClock.objects.count():,} clocks, "
        f"{SLAEvent.objects.count():,} SLA events, {InboundEmail.objects.count():,} emails"
    )
    http = HttpClient()
    # The process's first request imports and builds what every request then reuses: not the
    # scrape's cost.
    http.get("/healthz")
    results = []
    cold_ms, cold_queries, body = scrape(http)
    print(f"  first scrape (counts the tables once): {cold_ms:8.1f} ms, {cold_queries} queries")
    print_sources(body)
    print_slowest()
    results.append(record("metrics: first scrape", p50_ms=cold_ms, queries=cold_queries))

    def warm(label: str) -> dict:
        timings, queries, body = [], set(), b""
        for _ in range(scrapes):
            elapsed, count, body = scrape(http)
            timings.append(elapsed)
            queries.add(count)
        measured = latency(label, timings, queries="/".join(str(q) for q in sorted(queries)))
        print(
            f"  {label:40} p50 {measured['p50_ms']:7.1f} ms   p95 {measured['p95_ms']:7.1f} ms"
            f"   queries {measured['queries']}"
        )
        print_sources(body)
        print_slowest()
        return measured

    results.append(warm("metrics: warm scrape (totals unsettled)"))
    # The checkpoints settle (msp/metrics/running.py): aged past the barrier's wait, then
    # scraped until every transaction older than the barrier has ended.
    for running in (figures.MILESTONES, figures.EMAILS):
        if running.state.pending_at is not None:
            running.state.pending_at = timezone.now() - SETTLE - timedelta(seconds=1)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(
        running.state.pending_pk is not None for running in (figures.MILESTONES, figures.EMAILS)
    ):
        scrape(http)
        time.sleep(0.5)
    # Rows above the settled key: none here (a live system has its last minute or so).
    results.append(warm("metrics: warm scrape (totals settled)"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--scrapes", type=int, default=30)
    parser.add_argument("--database", help="an existing database instead of our own")
    parser.add_argument("--read-only", action="store_true", help="measure --database as it is")
    parser.add_argument("--reseed", action="store_true")
    options = parser.parse_args()
    if options.read_only and not options.database:
        parser.error("--read-only needs --database")
    run(
        tickets=options.tickets,
        scrapes=options.scrapes,
        database=options.database,
        read_only=options.read_only,
        reseed=options.reseed,
    )


if __name__ == "__main__":
    main()
