"""Benchmark: report figures at 1,000,000 tickets over 500 clients and 12 months.

    .venv/bin/python bench/reports.py --tickets 1000000

Uses the workspace benchmark's database (msp_bench_<N>; seeded on first use, see
bench/tickets_workspace.py) and adds, once, what reports read besides tickets: an active
contract per client (compliance targets, service lines with a block of hours, a weekly
maintenance window), satisfaction surveys and billable time. Then measures, for the last
finished month:
- one client's month: computing (and storing) its figures, time and SQL queries;
- every client's month: the same for all 500 clients at once, against the floor of
  hand-written SQL computing the same figures (compliance, percentiles, MTTR and first contact
  resolution, volume, backlog, recurring assets and categories, satisfaction, hours);
- one report: the whole snapshot (figures, trend, breaches), its SQL queries, and its PDF;
- the staff pages that read every client's month so far: SLA risk and all accounts (Django test
  client, in-process, a technician whose teams serve every client).
The clocks' roll-ups per client and month (sla.rollups) are built when the database has none or
its tickets were put under contracts here; --rebuild-rollups builds them again, and
--check-rollups compares their figures with the clocks' for every month of the year
("roll-ups equal raw: yes"), and the accounts' backlog with the report's.
--pages-only measures the staff pages alone; --pages-at INSTANT measures them also as of an
instant (e.g. a month's last day, when "this month so far" holds a whole month of roll-ups).
"""

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import tickets_workspace as workspace  # noqa: E402 - after the path is set
from records import record  # noqa: E402


def add_report_data(rng: random.Random) -> None:
    """Contracts, surveys and time entries, once (skipped when contracts exist)."""
    from django.db import connection, transaction

    from contracts.choices import (
        ComplianceMetric,
        ContractStatus,
        ContractType,
        PricingModel,
        Service,
    )
    from contracts.models import ComplianceTarget, Contract, MaintenanceWindow, ServiceLine
    from msp.models import Client
    from sla.models import SLAPolicy

    if Contract.objects.exists():
        _tickets_under_contracts()
        return
    started = time.perf_counter()
    policy = SLAPolicy.objects.get(is_default=True)
    start = date.today().replace(day=1) - timedelta(days=400)
    with transaction.atomic():
        contracts = Contract.objects.bulk_create(
            Contract(
                client=client,
                number=f"B-{client.pk}",
                name="Managed IT",
                type=ContractType.FULLY_MANAGED,
                start_date=start.replace(day=1),
                status=ContractStatus.ACTIVE,
                sla_policy=policy,
                monthly_fee=Decimal("2500.00"),
                currency="USD",
            )
            for client in Client.objects.all()
        )
        ComplianceTarget.objects.bulk_create(
            ComplianceTarget(contract=contract, priority=priority, metric=metric, percent=percent)
            for contract in contracts
            for priority, percent in (("P1", 95), ("P2", 95), ("P3", 90), ("P4", 90))
            for metric in (ComplianceMetric.RESPONSE, ComplianceMetric.RESOLUTION)
        )
        ServiceLine.objects.bulk_create(
            line
            for contract in contracts
            for line in (
                ServiceLine(
                    contract=contract,
                    service=Service.SERVICE_DESK,
                    pricing_model=PricingModel.BLOCK_OF_HOURS,
                    unit_price=Decimal("1200"),
                    block_hours=Decimal("20"),
                    overage_rate=Decimal("95"),
                    availability_target=Decimal("99.5"),
                ),
                ServiceLine(
                    contract=contract,
                    service=Service.INFRASTRUCTURE,
                    pricing_model=PricingModel.FIXED_RETAINER,
                    unit_price=Decimal("1300"),
                    availability_target=Decimal("99.9"),
                ),
            )
        )
        MaintenanceWindow.objects.bulk_create(
            MaintenanceWindow(
                contract=contract,
                name="Sunday patching",
                start=datetime(2025, 1, 5, 2, tzinfo=UTC),
                duration_minutes=120,
                recurrence="FREQ=WEEKLY;BYDAY=SU",
            )
            for contract in contracts
        )
    with connection.cursor() as cursor:
        # One survey for 40 % of resolved tickets, 70 % of them answered within a day.
        cursor.execute(
            """
            INSERT INTO tickets_satisfactionsurvey
                (ticket_id, client_id, contact_id, resolved_at, sent_at, rating, comment,
                 answered_at)
            SELECT id, client_id, contact_id, resolved_at, resolved_at,
                   CASE WHEN answered THEN 1 + (id % 5) END, '',
                   CASE WHEN answered THEN resolved_at + interval '3 hours' END
            FROM (SELECT id, client_id, contact_id, resolved_at, random() < 0.7 AS answered
                  FROM tickets_ticket
                  WHERE resolved_at IS NOT NULL AND contact_id IS NOT NULL
                    AND random() < 0.4) AS sampled
            """
        )
        # Billable time on half of the tickets.
        cursor.execute(
            """
            INSERT INTO tickets_timeentry
                (created_at, updated_at, ticket_id, client_id, user_id, minutes, work_type,
                 billable, spent_on, note)
            SELECT created_at, created_at, id, client_id, assignee_id, 15 * (1 + id % 8),
                   'remote', true, (created_at AT TIME ZONE 'UTC')::date, ''
            FROM tickets_ticket WHERE assignee_id IS NOT NULL AND id % 2 = 0
            """
        )
        cursor.execute("ANALYZE")
    _tickets_under_contracts()
    print(f"added contracts, surveys and time entries in {time.perf_counter() - started:.0f} s")


def _tickets_under_contracts() -> None:
    """Each ticket under its client's contract, as ticket_open would have put it: compliance
    counts a contract's tickets only (databases seeded before contracts existed get it here)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE tickets_ticket t SET contract_id = c.id, sla_policy_id = c.sla_policy_id
            FROM contracts_contract c
            WHERE c.client_id = t.client_id AND t.contract_id IS NULL
            """
        )
        if cursor.rowcount:
            # Every ticket row was rewritten: vacuum as autovacuum would, so that index-only
            # counts (the accounts' backlog) see the visibility map of a table in steady state.
            cursor.execute("VACUUM ANALYZE tickets_ticket")
            rollups_build()  # the roll-ups count clocks by their ticket's contract


def rollups_build() -> None:
    from django.db import connection

    from sla.rollups import sla_rollups_rebuild

    started = time.perf_counter()
    made = sla_rollups_rebuild()
    with connection.cursor() as cursor:  # the visibility map, for index-only scans
        cursor.execute("VACUUM ANALYZE sla_monthlyclockrollup")
        cursor.execute("VACUUM ANALYZE sla_monthlyclocktimerollup")
    print(f"built {made:,} clock roll-ups in {time.perf_counter() - started:.0f} s")


def rollups_check(months: int = 12) -> bool:
    """The compliance figures of every client's month, from the roll-ups and from the clocks,
    for the last `months` months and this one; also the SLA risk page's scope."""
    from datetime import UTC, datetime

    from contracts.selectors import contracts_active_on, counted_clocks, met_and_breached
    from msp.choices import PeriodKind
    from msp.models import Client
    from msp.periods import Period
    from reporting.metrics import (
        Rows,
        compliance_from_clocks,
        compliance_from_rollups,
        period_contracts,
        times_from_clocks,
        times_from_rollups,
    )
    from reporting.selectors import sla_risk

    clients = Client.objects.all()
    now = datetime.now(UTC)
    this_month = Period.containing(PeriodKind.MONTH, date.today())
    equal = True
    for back in range(months, -1, -1):
        period = this_month.shifted(-back)
        rows = Rows(list(clients), period)
        contracts = period_contracts(rows.client_ids, period)
        same = compliance_from_rollups(rows, contracts, period) == compliance_from_clocks(
            rows, contracts
        )
        clocked, rolled = Rows(list(clients), period), Rows(list(clients), period)
        times_from_clocks(clocked)
        times_from_rollups(rolled, period)
        same = same and {k: sorted(map(str, v)) for k, v in rolled.of.items()} == {
            k: sorted(map(str, v)) for k, v in clocked.of.items()
        }
        active = contracts_active_on(on=period.end_day - timedelta(days=1))
        raw_risk = met_and_breached(
            counted_clocks(
                concluded=rows.concluded(),
                contracts=active.values("pk"),
                clients_without_contract=clients.exclude(pk__in=active.values("client_id")).values(
                    "pk"
                ),
            ),
            "client__slug",
        )
        risk = sla_risk(clients=clients, now=now, day_start=now, month=period)["compliance"]
        same_risk = sorted((r["slug"], r["met"], r["breached"]) for r in risk) == sorted(
            (r["client__slug"], r["met"], r["breached"]) for r in raw_risk
        )
        print(
            f"  {period.label:15} compliance and times {'equal' if same else 'DIFFER'}, "
            f"SLA risk {'equal' if same_risk else 'DIFFERS'}"
        )
        equal = equal and same and same_risk
    same_backlog = accounts_backlog_check(list(clients), this_month, now)
    print(f"  {this_month.label:15} accounts' backlog {'equal' if same_backlog else 'DIFFERS'}")
    equal = equal and same_backlog
    print(f"roll-ups equal raw: {'yes' if equal else 'NO'}")
    return equal


def accounts_backlog_check(clients, period, now) -> bool:
    """The account overview's backlog of the running month (open tickets, through their
    index) against the report's definition (tickets opened before the month's end and not
    finished by then, read from every ticket)."""
    from reporting.metrics import Rows, _backlog
    from reporting.selectors import account_backlogs

    reported = Rows(clients, period)
    _backlog(reported)
    as_reported = {client_id: rows[0].count for client_id, rows in reported.of.items()}
    shown = account_backlogs(Rows(clients, period), now)
    return all(shown.get(pk, 0) == n for pk, n in as_reported.items())


def staff_pages(requests: int, at: datetime | None = None) -> list[dict]:
    """The SLA risk page and all accounts, as a technician whose teams serve every client."""
    from django.test import Client as HttpClient

    from msp.models import User

    travel = None
    if at is not None:  # a month's last day: "this month so far" is a whole month of clocks
        import time_machine

        travel = time_machine.travel(at, tick=True)
        travel.start()
    try:
        http = HttpClient()
        http.force_login(User.objects.get(email="tech-l1-0@bench.msp"))
        suffix = f" (as of {at:%Y-%m-%d %H:%M} UTC)" if at else ""
        return [
            workspace.measure(
                "SLA risk page, all clients" + suffix, http, "/workspace/sla-risk/", requests
            ),
            workspace.measure(
                "accounts page, all clients" + suffix, http, "/workspace/accounts/?all=1", requests
            ),
        ]
    finally:
        if travel is not None:
            travel.stop()


def timed(function, repeats: int) -> tuple[float, int]:
    """Median seconds over `repeats` runs, and the SQL queries of one run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    seconds = []
    queries = 0
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            function()
            seconds.append(time.perf_counter() - began)
        queries = len(captured)
    return statistics.median(seconds), queries


def hand_written_sql(period) -> float:
    """The same figures for every client's month, written by hand as a handful of statements
    over a table of each client's month bounds: the floor to compare with."""
    from django.db import connection

    from msp.models import Client

    bounds = [
        (client.pk, *period.bounds(client.timezone))
        for client in Client.objects.only("pk", "timezone")
    ]
    values = ", ".join(
        f"({pk}, '{start.isoformat()}'::timestamptz, '{end.isoformat()}'::timestamptz)"
        for pk, start, end in bounds
    )
    month = f"month_bounds (client_id, starts, ends) AS (VALUES {values})"
    statements = [
        # Compliance by client, priority and clock, exempted breaches left out.
        f"""WITH {month}
        SELECT c.client_id, t.priority, c.kind,
               count(*) FILTER (WHERE c.state = 'met'),
               count(*) FILTER (WHERE c.breached_at IS NOT NULL)
        FROM sla_slaclock c JOIN tickets_ticket t ON t.id = c.ticket_id
        JOIN month_bounds b ON b.client_id = c.client_id
        WHERE c.kind IN ('response', 'resolution')
          AND ((c.state = 'met' AND c.stopped_at >= b.starts AND c.stopped_at < b.ends)
               OR (c.breached_at >= b.starts AND c.breached_at < b.ends))
          AND NOT EXISTS (SELECT 1 FROM contracts_breachexemption e
                          WHERE e.clock_id = c.id AND e.revoked_at IS NULL)
        GROUP BY 1, 2, 3""",
        # Percentiles of business time, by client, clock and priority, and over priorities.
        f"""WITH {month}
        SELECT c.client_id, c.kind, t.priority,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY c.spent_seconds),
               percentile_disc(0.9) WITHIN GROUP (ORDER BY c.spent_seconds)
        FROM sla_slaclock c JOIN tickets_ticket t ON t.id = c.ticket_id
        JOIN month_bounds b ON b.client_id = c.client_id
        WHERE c.stopped_at >= b.starts AND c.stopped_at < b.ends
        GROUP BY GROUPING SETS ((1, 2, 3), (1, 2))""",
        # MTTR and first contact resolution.
        f"""WITH {month}
        SELECT t.client_id, avg(t.resolved_at - t.created_at), count(*),
               count(*) FILTER (WHERE
                 (SELECT count(*) FROM tickets_timelineevent e JOIN msp_user u ON u.id = e.actor_id
                  WHERE e.ticket_id = t.id AND e.kind = 'reply' AND u.client_id IS NULL) = 1
                 AND NOT EXISTS (SELECT 1 FROM tickets_timelineevent e WHERE e.ticket_id = t.id
                                 AND e.kind IN ('escalated', 'reopened')))
        FROM tickets_ticket t JOIN month_bounds b ON b.client_id = t.client_id
        WHERE t.resolved_at >= b.starts AND t.resolved_at < b.ends
        GROUP BY 1""",
        # Volume by priority, type, source, site, asset and category in one pass.
        f"""WITH {month}
        SELECT t.client_id, t.priority, t.type, t.source, t.site_id, t.asset_id, t.category,
               count(*)
        FROM tickets_ticket t JOIN month_bounds b ON b.client_id = t.client_id
        WHERE t.created_at >= b.starts AND t.created_at < b.ends
        GROUP BY GROUPING SETS ((1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7))""",
        # Backlog at the month's end.
        f"""WITH {month}
        SELECT t.client_id, count(*)
        FROM tickets_ticket t JOIN month_bounds b ON b.client_id = t.client_id
        WHERE t.created_at < b.ends AND t.status <> 'cancelled'
          AND (t.resolved_at IS NULL OR t.resolved_at >= b.ends)
          AND (t.closed_at IS NULL OR t.closed_at >= b.ends)
        GROUP BY 1""",
        # Satisfaction.
        f"""WITH {month}
        SELECT s.client_id,
               avg(s.rating) FILTER (WHERE s.answered_at >= b.starts AND s.answered_at < b.ends),
               count(*) FILTER (WHERE s.sent_at >= b.starts AND s.sent_at < b.ends)
        FROM tickets_satisfactionsurvey s JOIN month_bounds b ON b.client_id = s.client_id
        WHERE (s.sent_at >= b.starts AND s.sent_at < b.ends)
           OR (s.answered_at >= b.starts AND s.answered_at < b.ends)
        GROUP BY 1""",
        # Billable hours.
        f"""SELECT e.client_id, sum(e.minutes)
        FROM tickets_timeentry e
        WHERE e.billable AND e.spent_on >= '{period.first_day}' AND e.spent_on < '{period.end_day}'
        GROUP BY 1""",
    ]
    began = time.perf_counter()
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
            cursor.fetchall()
    return time.perf_counter() - began


def run(
    *,
    tickets: int = 1_000_000,
    repeats: int = 5,
    page_requests: int = 20,
    rebuild_rollups: bool = False,
    check_rollups: bool = False,
    pages_only: bool = False,
    pages_at: datetime | None = None,
) -> list[dict]:
    """Time the report figures and PDF, and the staff pages that read every client's month;
    print them and return them as records (medians). `pages_only`: the staff pages alone;
    `pages_at`: the staff pages also as of that instant (a month's last day: a whole month of
    roll-ups; the accounts' backlog then counts tickets opened since, so only its time is
    meaningful)."""
    database = workspace.open_database(tickets)
    add_report_data(random.Random(7))
    from sla.models import MonthlyClockRollup

    if rebuild_rollups or not MonthlyClockRollup.objects.exists():
        rollups_build()
    if check_rollups:
        rollups_check()
    if pages_only:
        measured = staff_pages(page_requests)
        if pages_at is not None:
            measured.extend(staff_pages(page_requests, pages_at))
        return measured

    from msp.choices import PeriodKind
    from msp.models import Client
    from msp.periods import Period
    from reporting.metrics import (
        client_metrics,
        client_metrics_compute,
        clients_metrics,
    )
    from reporting.rendering import report_pdf
    from reporting.services import report_generate
    from tickets.models import Ticket

    period = Period.last_finished(PeriodKind.MONTH, date.today())
    clients = list(Client.objects.order_by("pk"))
    client = clients[len(clients) // 2]
    start, end = period.bounds(client.timezone)
    opened = Ticket.objects.filter(client=client, created_at__gte=start, created_at__lt=end)
    print(
        f"{Ticket.objects.count():,} tickets, {len(clients)} clients, in {database}; "
        f"{period.label}: {opened.count()} tickets opened for {client.name}"
    )
    # Warm the caches the same way for every measurement.
    client_metrics_compute(client=client, period=period)
    measured = []

    seconds, queries = timed(lambda: client_metrics(client=client, period=period), repeats)
    print(f"one client's month, computed:           {seconds * 1000:7.1f} ms, {queries} queries")
    measured.append(record("one client's month, computed", p50_ms=seconds * 1000, queries=queries))
    seconds, queries = timed(lambda: client_metrics_compute(client=client, period=period), repeats)
    print(f"one client's month, computed and stored: {seconds * 1000:6.1f} ms, {queries} queries")
    measured.append(
        record("one client's month, computed and stored", p50_ms=seconds * 1000, queries=queries)
    )
    floor = statistics.median(hand_written_sql(period) for _ in range(3))
    print(f"hand-written SQL, all clients:          {floor * 1000:7.1f} ms, 7 statements")
    measured.append(record("hand-written SQL floor, all clients", p50_ms=floor * 1000, queries=7))
    seconds_all, queries_all = timed(lambda: clients_metrics(clients=clients, period=period), 3)
    print(
        f"all clients' month, computed:           {seconds_all * 1000:7.1f} ms, "
        f"{queries_all} queries ({seconds_all / floor:.2f}x the hand-written SQL)"
    )
    measured.append(
        record(
            f"all {len(clients)} clients' month, computed",
            p50_ms=seconds_all * 1000,
            queries=queries_all,
            rows=len(clients),
        )
    )

    reports = []
    seconds, queries = timed(
        lambda: reports.append(report_generate(client=client, period=period)), 3
    )
    print(f"one report (snapshot):                  {seconds * 1000:7.1f} ms, {queries} queries")
    measured.append(record("one report (snapshot)", p50_ms=seconds * 1000, queries=queries))
    seconds, queries = timed(lambda: report_pdf(reports[-1]), 3)
    print(f"one report's PDF:                       {seconds * 1000:7.1f} ms")
    measured.append(record("one report's PDF", p50_ms=seconds * 1000, queries=queries))
    measured.extend(staff_pages(page_requests))
    if pages_at is not None:
        measured.extend(staff_pages(page_requests, pages_at))
    return measured


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--page-requests", type=int, default=20)
    parser.add_argument("--rebuild-rollups", action="store_true")
    parser.add_argument("--check-rollups", action="store_true")
    parser.add_argument("--pages-only", action="store_true", help="the staff pages alone")
    parser.add_argument(
        "--pages-at",
        type=datetime.fromisoformat,
        help="also measure the staff pages as of this instant, e.g. 2026-11-30T12:00:00+00:00",
    )
    options = parser.parse_args()
    run(
        tickets=options.tickets,
        repeats=options.repeats,
        page_requests=options.page_requests,
        rebuild_rollups=options.rebuild_rollups,
        check_rollups=options.check_rollups,
        pages_only=options.pages_only,
        pages_at=options.pages_at,
    )


if __name__ == "__main__":
    main()
