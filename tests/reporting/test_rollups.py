"""Roll-ups of concluded clocks per client and local month (sla.rollups) give the figures the
clocks give: for reports (compliance_from_rollups against compliance_from_clocks), for the SLA
risk page, on a generated data set across DST changes and on the demo; and they change in the
transaction that concludes a clock."""

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from contracts.choices import ContractStatus
from contracts.models import BreachExemption
from contracts.selectors import contracts_active_on, counted_clocks, met_and_breached
from contracts.services import breach_exemption_grant, breach_exemption_revoke
from msp.choices import PeriodKind
from msp.models import Client
from msp.periods import Period
from reporting.metrics import (
    Rows,
    clients_metrics,
    compliance_from_clocks,
    compliance_from_rollups,
    period_contracts,
    times_from_clocks,
    times_from_rollups,
)
from reporting.selectors import account_contracts, account_figures, sla_risk
from sla.models import MonthlyClockRollup, MonthlyClockTimeRollup, SLAClock
from sla.rollups import clock_time_percentiles, sla_rollups_rebuild
from tests.factories import ClientFactory, ContactFactory, ContractFactory
from tickets import services
from tickets.choices import Impact, TicketStatus, Urgency
from tickets.timers.sweep import sla_sweep

pytestmark = pytest.mark.django_db

# Zones whose clocks change in October and November 2026 (Sydney in the other direction), and
# one half an hour off UTC that never changes.
ZONES = ("America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata")
LEVELS = (Impact.HIGH, Impact.MEDIUM, Impact.LOW)
URGENCIES = (Urgency.HIGH, Urgency.MEDIUM, Urgency.LOW)
START = datetime(2026, 9, 20, tzinfo=UTC)
SWEEP_AT = datetime(2026, 12, 2, tzinfo=UTC)


def rolled_up_now() -> set[tuple]:
    """The roll-ups as data, without rows whose clocks have all moved elsewhere."""
    counts = {
        row
        for row in MonthlyClockRollup.objects.values_list(
            "client_id", "month", "kind", "priority", "contract_id", "met", "breached", "exempted"
        )
        if any(row[5:])
    }
    times = {
        row
        for row in MonthlyClockTimeRollup.objects.values_list(
            "client_id", "month", "kind", "priority", "spent_seconds", "stopped"
        )
        if row[5]
    }
    return counts | times


def risk_from_clocks(clients, month: Period) -> list[tuple]:
    """The SLA risk page's compliance as it was computed before the roll-ups: its scope
    (active contracts) over the clocks of each client's month in its zone."""
    contracts = contracts_active_on(on=month.end_day - timedelta(days=1)).filter(client__in=clients)
    clocks = counted_clocks(
        concluded=Rows(list(clients), month).concluded(),
        contracts=contracts.values("pk"),
        clients_without_contract=clients.exclude(pk__in=contracts.values("client_id")).values("pk"),
    )
    return [
        (row["client__slug"], row["met"], row["breached"])
        for row in met_and_breached(clocks, "client__slug")
    ]


def assert_rollups_agree(periods: list[Period]) -> None:
    clients = Client.objects.all()
    for period in periods:
        rows = Rows(list(clients), period)
        contracts = period_contracts(rows.client_ids, period)
        from_clocks = compliance_from_clocks(rows, contracts)
        assert compliance_from_rollups(rows, contracts, period) == from_clocks, period
        clocked, rolled = Rows(list(clients), period), Rows(list(clients), period)
        times_from_clocks(clocked)
        times_from_rollups(rolled, period)
        assert {k: sorted(map(str, v)) for k, v in rolled.of.items()} == {
            k: sorted(map(str, v)) for k, v in clocked.of.items()
        }, period
        if period.kind == PeriodKind.MONTH:
            risk = sla_risk(clients=clients, now=SWEEP_AT, day_start=SWEEP_AT, month=period)[
                "compliance"
            ]
            got = sorted((row["slug"], row["met"], row["breached"]) for row in risk)
            assert got == sorted(risk_from_clocks(clients, period)), period


def months(first: date, count: int) -> list[Period]:
    return [Period("month", first).shifted(n) for n in range(count)]


@pytest.fixture
def worked(technician, account_manager):
    """Tickets of four clients around the DST changes of autumn 2026, worked through the
    services in every way that moves a clock between roll-ups, then swept for breaches and
    exempted. Deterministic."""
    rng = random.Random(20)
    clients = [ClientFactory(name=f"Zone {n}", timezone=zone) for n, zone in enumerate(ZONES)]
    # Two clients under contract: one since before the tickets, one from mid-October (its
    # earlier tickets count towards neither); the others have none (all their clocks count).
    for client, start in ((clients[0], date(2026, 1, 1)), (clients[2], date(2026, 10, 15))):
        ContractFactory(client=client, start_date=start, status=ContractStatus.ACTIVE)
    contacts = {client.pk: ContactFactory(client=client) for client in clients}
    for n in range(48):
        client = clients[n % len(clients)]
        at = START + timedelta(minutes=rng.randrange(70 * 24 * 60))
        ticket = services.ticket_open(
            client=client,
            contact=contacts[client.pk],
            subject=f"Ticket {n}",
            impact=rng.choice(LEVELS),
            urgency=rng.choice(URGENCIES),
            at=at,
        )
        at += timedelta(minutes=rng.choice((3, 20, 90, 600)))  # some answers late
        if n % 7 == 6:  # never answered: the sweep breaches it
            continue
        services.ticket_reply(ticket=ticket, author=technician, body="On it", at=at)
        if n % 5 == 0:
            at += timedelta(minutes=30)
            services.ticket_change_status(
                ticket=ticket, actor=technician, status=TicketStatus.WAITING_ON_CLIENT, at=at
            )
            at += timedelta(hours=rng.randrange(1, 30))
            services.ticket_change_status(
                ticket=ticket, actor=technician, status=TicketStatus.IN_PROGRESS, at=at
            )
        if n % 4 == 1:  # priority changed while the resolution clock runs
            at += timedelta(minutes=10)
            services.ticket_change_priority(
                ticket=ticket,
                actor=technician,
                impact=rng.choice(LEVELS),
                urgency=rng.choice(URGENCIES),
                at=at,
            )
        if n % 9 == 8:  # left running: breached by the sweep or still going
            continue
        at += timedelta(hours=rng.choice((1, 5, 20, 70)))
        services.ticket_resolve(ticket=ticket, actor=technician, resolution="Fixed", at=at)
        if n % 6 == 2:  # came back: the met resolution clock runs again
            at += timedelta(hours=rng.randrange(1, 48))
            services.ticket_reopen(ticket=ticket, actor=technician, reason="Again", at=at)
            if n % 12 != 2:
                at += timedelta(hours=rng.randrange(1, 48))
                services.ticket_resolve(
                    ticket=ticket, actor=technician, resolution="Fixed again", at=at
                )
        if n % 8 == 3:  # priority changed after both clocks concluded
            at += timedelta(hours=1)
            services.ticket_change_priority(
                ticket=ticket, actor=technician, priority="P1", reason="Board member", at=at
            )
    sla_sweep(now=SWEEP_AT)
    breached = list(SLAClock.objects.filter(breached_at__isnull=False).order_by("pk"))
    assert len(breached) >= 6
    for clock in breached[::2]:
        breach_exemption_grant(
            clock=clock, user=account_manager, cause="client", reason="Site closed", at=SWEEP_AT
        )
    revoked = BreachExemption.objects.order_by("pk").first()
    breach_exemption_revoke(exemption=revoked, user=account_manager, reason="No", at=SWEEP_AT)
    return clients


def test_rollups_agree_with_the_clocks_across_dst_and_every_kind_of_change(worked):
    assert_rollups_agree(months(date(2026, 9, 1), 4))
    assert_rollups_agree([Period("quarter", date(2026, 10, 1))])
    # Each of those changes happened: breaches exempted, clocks reopened, priorities moved.
    assert MonthlyClockRollup.objects.filter(exempted__gt=0).exists()
    assert MonthlyClockRollup.objects.filter(contract__isnull=True).exists()


def test_the_account_overview_shows_the_reports_figures(worked):
    clients = list(Client.objects.order_by("pk"))
    for period in months(date(2026, 10, 1), 2):
        contracts = account_contracts(clients, period)
        shown = account_figures(
            clients=clients, period=period, contracts=contracts, now=timezone.now()
        )
        report = clients_metrics(clients=clients, period=period)
        for client in clients:
            as_reported = {
                (m.key, m.dimension): (m.value, m.count, m.target) for m in report[client.pk]
            }
            figures = {(m.key, m.dimension): (m.value, m.count, m.target) for m in shown[client.pk]}
            assert ("response_p50", "all") in figures or not any(
                key == "response_p50" for key, _ in as_reported
            )
            assert figures.items() <= as_reported.items(), client


def test_a_rebuild_makes_the_same_rollups_as_the_writes_did(worked):
    kept = rolled_up_now()
    assert kept
    sla_rollups_rebuild()
    assert rolled_up_now() == kept


def test_a_client_moving_time_zone_is_rebuilt(worked):
    moved = worked[0]
    moved.timezone = "Pacific/Auckland"
    moved.save()
    call_command("sla_rollups_rebuild", moved.slug)
    assert_rollups_agree(months(date(2026, 9, 1), 4))


@pytest.mark.parametrize("vendor", ["postgresql", "other"])
def test_percentiles_count_each_rollup_row_by_its_clocks(client_a, vendor, monkeypatch):
    """Ranks run over roll-up rows, not values: a time shared by two priorities or months,
    rows of several clocks and rows left at zero give the rank of the clocks they stand for.
    Both ways to rank: PostgreSQL's and the running count other databases use."""
    monkeypatch.setattr(connection, "vendor", vendor)
    rng = random.Random(3)
    clocks = []  # (month, priority, spent seconds) of each clock, as the roll-ups hold them
    for month in (date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)):
        for _ in range(rng.randrange(1, 40)):
            clocks.append((month, rng.choice(["P1", "P2"]), rng.choice([60, 120, 300, 301, 900])))
    counted: dict[tuple, int] = {}
    for clock in clocks:
        counted[clock] = counted.get(clock, 0) + 1
    MonthlyClockTimeRollup.objects.bulk_create(
        [
            MonthlyClockTimeRollup(
                client=client_a,
                month=month,
                kind="response",
                priority=priority,
                spent_seconds=spent,
                stopped=n,
            )
            for (month, priority, spent), n in counted.items()
        ]
        + [  # every clock of a value moved elsewhere
            MonthlyClockTimeRollup(
                client=client_a,
                month=date(2026, 11, 1),
                kind="response",
                priority="P3",
                spent_seconds=30,
                stopped=0,
            )
        ]
    )
    for period in (Period("month", date(2026, 11, 1)), Period("quarter", date(2026, 10, 1))):
        for by_priority in (False, True):
            found = clock_time_percentiles(
                client_ids=[client_a.pk],
                first_day=period.first_day,
                end_day=period.end_day,
                kinds=("response",),
                by_priority=by_priority,
                percents=(1, 50, 90, 100),
            )
            expected = []
            for priority in ("P1", "P2") if by_priority else (None,):
                times = sorted(
                    spent
                    for month, of, spent in clocks
                    if period.first_day <= month < period.end_day and priority in (None, of)
                )
                for percent in (1, 50, 90, 100):
                    rank = (len(times) * percent + 99) // 100
                    expected.append((priority, percent, times[rank - 1], len(times)))
            got = [
                (row["priority"], row["percent"], row["spent_seconds"], row["total"])
                for row in found
            ]
            assert sorted(got) == sorted(expected), (period, by_priority)


def test_a_clock_concluding_changes_its_rollup_in_the_same_transaction(client_a, technician):
    client_a.timezone = "America/New_York"
    client_a.save()
    opened = datetime(2026, 11, 1, 3, 50, tzinfo=UTC)  # 23:50 on 31 October in New York
    ticket = services.ticket_open(
        client=client_a,
        contact=ContactFactory(client=client_a),
        subject="Down",
        impact=Impact.HIGH,
        urgency=Urgency.HIGH,
        at=opened,
    )
    assert not MonthlyClockRollup.objects.exists()  # running clocks count for nothing yet

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack), transaction.atomic():
        services.ticket_reply(
            ticket=ticket, author=technician, body="On it", at=opened + timedelta(minutes=5)
        )
        row = MonthlyClockRollup.objects.get()
        assert (row.month, row.kind, row.priority, row.met, row.breached) == (
            date(2026, 10, 1),  # the 31st there
            "response",
            "P1",
            1,
            0,
        )
        stopped = MonthlyClockTimeRollup.objects.get()
        assert (stopped.month, stopped.spent_seconds, stopped.stopped) == (
            date(2026, 10, 1),
            300,
            1,
        )
        raise RolledBack  # the reply and its roll-up go together
    assert not MonthlyClockRollup.objects.exists() and not MonthlyClockTimeRollup.objects.exists()
    services.ticket_reply(
        ticket=ticket, author=technician, body="On it", at=opened + timedelta(minutes=5)
    )
    assert MonthlyClockRollup.objects.get().met == 1


@pytest.mark.slow
def test_the_demo_rollups_agree_with_its_clocks(monkeypatch):
    """The demo works its tickets through the services: the roll-ups they kept agree with
    the clocks (the seed's own rebuild is left out here), and with a rebuild."""
    from msp.management.commands import seed_demo

    monkeypatch.setattr(seed_demo, "seed_rollups", lambda: 0)
    call_command("seed_demo")
    today = datetime.now(UTC).date()
    assert_rollups_agree(months(Period.containing("month", today).shifted(-7).first_day, 8))
    kept = rolled_up_now()
    assert kept
    sla_rollups_rebuild()
    assert rolled_up_now() == kept
