"""Roll-ups of concluded SLA clocks per client and local day (`ClockRollup`), kept in step
with the clocks in the same transaction, and rebuilt from the clocks when needed.

A response or resolution clock counts, as compliance counts it, on one day of its client's
time zone: met on the day it stopped in time, breached on the day of its breach (exempted
breaches apart). Months and quarters are whole local days, so a client's period is the sum of
its days, whatever its time zone.

Maintenance adds differences, never recounts: a `ClockTally` notes what some clock rows count
for before a change, and after the change adds what changed to the roll-ups in one upsert
(`met = met + excluded.met`), which concurrent writes can do side by side without losing
counts. The other things that move a clock between roll-ups have their own entry points: a
ticket's priority (`ticket_priority_moved`) and a breach exemption (`clock_exemption_moved`).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncDate

from msp.models import Client
from sla.choices import ClockKind, ClockState
from sla.models import ClockRollup, SLAClock

COUNTED_KINDS = (ClockKind.RESPONSE, ClockKind.RESOLUTION)
COLUMNS = ("met", "breached", "exempted")
UPSERT_BATCH = 500

# (client id, instant, clock kind, ticket priority, contract id, column)
Mark = tuple[int, datetime, str, str, int | None, str]
# (client id, local day, clock kind, ticket priority, contract id)
Key = tuple[int, date, str, str, int | None]


def _marks(row: SLAClock, *, priority: str, contract_id: int | None, exempt: bool) -> list[Mark]:
    """What one clock row counts for: met when stopped in time, breached (or exempted) at its
    breach. A met clock has no breach (a breach is final), so a clock counts once."""
    if row.kind not in COUNTED_KINDS:
        return []
    marks = []
    if row.state == ClockState.MET and row.stopped_at is not None:
        marks.append((row.client_id, row.stopped_at, row.kind, priority, contract_id, "met"))
    if row.breached_at is not None:
        column = "exempted" if exempt else "breached"
        marks.append((row.client_id, row.breached_at, row.kind, priority, contract_id, column))
    return marks


def _count(marks: Iterable[Mark], sign: int, into: dict[Mark, int]) -> dict[Mark, int]:
    for mark in marks:
        into[mark] = into.get(mark, 0) + sign
    return into


@dataclass
class ClockTally:
    """Some tickets' clock rows and what they counted for when the tally was taken. Take it
    before changing the rows (under the rows' locks), change and save them, then `record()`:
    the roll-ups get the difference. Exemptions do not change in a clock transition (only a
    breach can be exempted, and a breach is final), so they cancel out and are not read."""

    tickets: list[tuple[object, list[SLAClock]]]
    before: dict[Mark, int] = field(default_factory=dict)

    @classmethod
    def take(cls, tickets: Iterable[tuple[object, list[SLAClock]]]) -> "ClockTally":
        tally = cls(tickets=[(ticket, list(rows)) for ticket, rows in tickets])
        tally.before = _count(tally._marks(), 1, {})
        return tally

    @classmethod
    def of(cls, ticket, rows: Iterable[SLAClock]) -> "ClockTally":
        return cls.take([(ticket, rows)])

    def _marks(self) -> Iterable[Mark]:
        for ticket, rows in self.tickets:
            for row in rows:
                yield from _marks(
                    row, priority=ticket.priority, contract_id=ticket.contract_id, exempt=False
                )

    def record(self) -> None:
        """Add what the rows count for now, less what they counted for before."""
        rollups_add(_count(self._marks(), -1, dict(self.before)), negate=True)


def rollups_add(changes: dict[Mark, int], *, negate: bool = False) -> None:
    """Add counts by instant to the roll-ups of their client's local days, in one statement
    per 500 changes (none when they cancel out)."""
    sign = -1 if negate else 1
    changes = {mark: n * sign for mark, n in changes.items() if n}
    if not changes:
        return
    rows = []
    for (client_id, at, kind, priority, contract_id, column), n in changes.items():
        counts = [n if name == column else 0 for name in COLUMNS]
        rows.append((client_id, at, kind, priority, contract_id, *counts))
    add = _upsert_instants if connection.vendor == "postgresql" else _upsert_days
    for start in range(0, len(rows), UPSERT_BATCH):
        add(rows[start : start + UPSERT_BATCH])


def _upsert_sql(select: str) -> str:
    table = connection.ops.quote_name(ClockRollup._meta.db_table)
    adding = ", ".join(f"{column} = {table}.{column} + EXCLUDED.{column}" for column in COLUMNS)
    # The conflict target is the unique key `clock_rollup_unique_key` (no contract is 0).
    return (
        f"INSERT INTO {table} (client_id, day, kind, priority, contract_id, {', '.join(COLUMNS)}) "
        f"{select} ON CONFLICT (client_id, day, kind, priority, COALESCE(contract_id, 0)) "
        f"DO UPDATE SET {adding}"
    )


def _upsert_instants(rows: list[tuple]) -> None:
    """PostgreSQL: the database turns instants into the client's local days (its own time zone
    rules, as the rebuild's), so that the write reads nothing first."""
    value = "(%s::bigint, %s::timestamptz, %s::varchar, %s::varchar, %s::bigint, %s, %s, %s)"
    clients = connection.ops.quote_name(Client._meta.db_table)
    summed = ", ".join(f"SUM(v.{column})" for column in COLUMNS)
    select = (
        f"SELECT v.client_id, (v.at AT TIME ZONE c.timezone)::date, v.kind, v.priority, "  # noqa: S608
        f"v.contract_id, {summed} "
        f"FROM (VALUES {', '.join([value] * len(rows))}) "
        f"AS v (client_id, at, kind, priority, contract_id, {', '.join(COLUMNS)}) "
        f"JOIN {clients} c ON c.id = v.client_id "
        f"GROUP BY 1, 2, 3, 4, 5 "
        # Keys in one order, so that concurrent writes lock roll-up rows in the same order.
        f"ORDER BY 1, 2, 3, 4, COALESCE(v.contract_id, 0)"
    )
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(select), [value for row in rows for value in row])


def _upsert_days(rows: list[tuple]) -> None:
    """Other databases: local days in Python (the clients' zones read first)."""
    zones = _zones({row[0] for row in rows})
    by_key: dict[Key, list[int]] = defaultdict(lambda: [0] * len(COLUMNS))
    for client_id, at, kind, priority, contract_id, *counts in rows:
        day = at.astimezone(zones[client_id]).date()
        summed = by_key[(client_id, day, kind, priority, contract_id)]
        for index, n in enumerate(counts):
            summed[index] += n
    value = "(" + ", ".join(["%s"] * (5 + len(COLUMNS))) + ")"
    params = []
    for (client_id, day, kind, priority, contract_id), counts in by_key.items():
        day = connection.ops.adapt_datefield_value(day)
        params.extend([client_id, day, kind, priority, contract_id, *counts])
    select = f"VALUES {', '.join([value] * len(by_key))}"
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(select), params)


def _zones(client_ids: set[int]) -> dict[int, ZoneInfo]:
    found = Client.objects.filter(pk__in=client_ids).values_list("pk", "timezone")
    return {pk: ZoneInfo(name) for pk, name in found}


def ticket_priority_moved(ticket, rows: list[SLAClock]) -> None:
    """A ticket's priority is changing (`ticket.priority` is the new one; the stored row still
    has the old one, since the ticket is saved at the end of its write): the clocks it has
    concluded move to the new priority's roll-ups. Call before the clocks themselves change."""
    old = type(ticket).objects.filter(pk=ticket.pk).values_list("priority", flat=True).first()
    if old is None or old == ticket.priority:
        return
    exempt = _exempted({row.pk for row in rows if row.breached_at is not None})
    changes: dict[Mark, int] = {}
    for row in rows:
        for priority, sign in ((ticket.priority, 1), (old, -1)):
            marks = _marks(
                row, priority=priority, contract_id=ticket.contract_id, exempt=row.pk in exempt
            )
            _count(marks, sign, changes)
    rollups_add(changes)


def clock_exemption_moved(*, clock: SLAClock, exempted: bool) -> None:
    """A breach exemption granted (`exempted`) or revoked: the clock's breach moves between
    the breached and the exempted counts of its day. Call with the clock row locked."""
    ticket = (
        SLAClock.objects.filter(pk=clock.pk).values("ticket__priority", "ticket__contract_id").get()
    )
    priority, contract_id = ticket["ticket__priority"], ticket["ticket__contract_id"]
    changes: dict[Mark, int] = {}
    _count(_marks(clock, priority=priority, contract_id=contract_id, exempt=exempted), 1, changes)
    _count(
        _marks(clock, priority=priority, contract_id=contract_id, exempt=not exempted),
        -1,
        changes,
    )
    rollups_add(changes)


def _exempted(clock_ids: set[int]) -> set[int]:
    if not clock_ids:
        return set()
    return set(
        SLAClock.objects.filter(
            pk__in=clock_ids, exemptions__isnull=False, exemptions__revoked_at__isnull=True
        )
        .values_list("pk", flat=True)
        .distinct()
    )


# Building from the clocks ----------------------------------------------------------------------

GROUPS = ("client_id", "local_day", "kind", "ticket__priority", "ticket__contract_id", "exempt")


@transaction.atomic
def sla_rollups_rebuild(*, client_ids: list[int] | None = None, models=None) -> int:
    """Make the roll-ups of some clients (default: all) again from their clocks: for existing
    data (a migration), seeded data (the demo, the benches) and a client whose time zone
    changed. Grouped queries per time zone (local days by the database's own time zone
    arithmetic); returns the roll-up rows written. `models`: (Client, SLAClock, ClockRollup)
    of a migration's state. Safe while clocks change: the roll-ups are locked meanwhile on
    PostgreSQL, so writes waiting on them add their changes after the rebuild."""
    client_model, clock_model, rollup_model = models or (Client, SLAClock, ClockRollup)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(rollup_model._meta.db_table)
            cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    clients = client_model.objects.all()
    if client_ids is not None:
        clients = clients.filter(pk__in=client_ids)
    zones: dict[str, list[int]] = defaultdict(list)
    for pk, zone in clients.values_list("pk", "timezone"):
        zones[zone].append(pk)
    stale = rollup_model.objects.all()
    if client_ids is not None:
        stale = stale.filter(client_id__in=client_ids)
    stale.delete()
    exemption_model = clock_model._meta.get_field("exemptions").related_model
    in_force = exemption_model.objects.filter(clock=OuterRef("pk"), revoked_at__isnull=True)
    counts: dict[Key, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    for zone, ids in zones.items():
        clocks = clock_model.objects.filter(client_id__in=ids, kind__in=COUNTED_KINDS).annotate(
            exempt=Exists(in_force)
        )
        met = clocks.filter(state=ClockState.MET, stopped_at__isnull=False, exempt=False)
        breached = clocks.filter(breached_at__isnull=False)
        for column_of, concluded, instant in (
            (lambda _: "met", met, "stopped_at"),
            (lambda row: "exempted" if row["exempt"] else "breached", breached, "breached_at"),
        ):
            grouped = (
                concluded.annotate(local_day=TruncDate(instant, tzinfo=ZoneInfo(zone)))
                .values(*GROUPS)
                .annotate(n=Count("pk"))
                .order_by()
            )
            for row in grouped:
                key = (
                    row["client_id"],
                    row["local_day"],
                    row["kind"],
                    row["ticket__priority"],
                    row["ticket__contract_id"],
                )
                counts[key][column_of(row)] += row["n"]
    made = rollup_model.objects.bulk_create(
        (
            rollup_model(
                client_id=client_id,
                day=day,
                kind=kind,
                priority=priority,
                contract_id=contract_id,
                **columns,
            )
            # In day order, as the writes add them: a period's rows lie together.
            for (client_id, day, kind, priority, contract_id), columns in sorted(
                counts.items(), key=lambda item: (item[0][1], item[0][0], item[0][2:4])
            )
        ),
        batch_size=5000,
    )
    return len(made)


def clocks_rolled_up(*, first_day: date, end_day: date, contracts, clients_without_contract=()):
    """Roll-up rows of the days [first_day, end_day) that count towards compliance, by the
    compliance scope rule (contracts.selectors.counted_clocks): clocks of tickets opened under
    the contracts measured, or any clock of a client with no contract for the period."""
    scope = Q(contract__in=contracts) | Q(client__in=clients_without_contract)
    return ClockRollup.objects.filter(scope, day__gte=first_day, day__lt=end_day)
