"""Roll-ups of concluded SLA clocks per client and local month (`MonthlyClockRollup`) and of
their business times (`MonthlyClockTimeRollup`), kept in step with the clocks in the same
transaction, and rebuilt from the clocks when needed.

A response or resolution clock counts, as compliance counts it, in one month of its client's
time zone: met in the month it stopped in time, breached in the month of its breach (exempted
breaches apart). Periods are whole local months, so a client's period is the sum of its
months, whatever its time zone.

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
from django.db.models import Count, DateField, Exists, OuterRef, Q
from django.db.models.functions import TruncMonth

from msp.models import Client
from msp.periods import add_months
from sla.choices import ClockKind, ClockState
from sla.models import MonthlyClockRollup, MonthlyClockTimeRollup, SLAClock

COUNTED_KINDS = (ClockKind.RESPONSE, ClockKind.RESOLUTION)
COLUMNS = ("met", "breached", "exempted")
UPSERT_BATCH = 500

# (client id, instant, clock kind, ticket priority, contract id, column): a column of
# MonthlyClockRollup ("met", "breached", "exempted"), or the business time (seconds) of a stopped
# clock for MonthlyClockTimeRollup (no contract; by month).
Mark = tuple[int, datetime, str, str, int | None, str | int]
# (client id, local month, clock kind, ticket priority, contract id)
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
    if row.stopped_at is not None:  # its business time, for percentiles (MonthlyClockTimeRollup)
        marks.append((row.client_id, row.stopped_at, row.kind, priority, None, row.spent_seconds))
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
    """Add counts by instant to the roll-ups of their client's local months: on PostgreSQL one
    statement (both tables), elsewhere one per table; nothing when the counts cancel out."""
    sign = -1 if negate else 1
    counts, times = [], []
    for (client_id, at, kind, priority, contract_id, column), n in changes.items():
        if not n:
            continue
        if isinstance(column, int):
            times.append((client_id, at, kind, priority, column, n * sign))
        else:
            values = [n * sign if name == column else 0 for name in COLUMNS]
            counts.append((client_id, at, kind, priority, contract_id, *values))
    if connection.vendor == "postgresql":
        statements = [
            *(_counts_by_instant(counts[i : i + UPSERT_BATCH]) for i in _batches(counts)),
            *(_times_by_instant(times[i : i + UPSERT_BATCH]) for i in _batches(times)),
        ]
        if len(statements) == 2:  # the common case, one write: both tables in one statement
            (first, first_params), (second, second_params) = statements
            statements = [(f"WITH counted AS ({first}) {second}", first_params + second_params)]
    else:
        zones = _zones({row[0] for row in counts + times})
        statements = [
            *(_counts_by_month(counts[i : i + UPSERT_BATCH], zones) for i in _batches(counts)),
            *(_times_by_month(times[i : i + UPSERT_BATCH], zones) for i in _batches(times)),
        ]
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


def _batches(rows: list) -> range:
    return range(0, len(rows), UPSERT_BATCH)


def _upsert_sql(model, fields: tuple[str, ...], key: tuple[str, ...], summed, select: str):
    """INSERT of `select` into `model`'s `fields`, adding the `summed` counts on conflict of
    `key` (its unique key)."""
    table = connection.ops.quote_name(model._meta.db_table)
    adding = ", ".join(f"{column} = {table}.{column} + EXCLUDED.{column}" for column in summed)
    return (
        f"INSERT INTO {table} ({', '.join(fields + summed)}) {select} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {adding}"
    )


# Each table's fields after the client and the month, its counts, and its unique key (no
# contract is 0, `monthly_clock_rollup_unique_key`).
COUNTS = (("kind", "priority", "contract_id"), COLUMNS)
COUNTS_KEY = ("client_id", "month", "kind", "priority", "COALESCE(contract_id, 0)")
TIMES = (("kind", "priority", "spent_seconds"), ("stopped",))
TIMES_KEY = ("client_id", "month", "kind", "priority", "spent_seconds")
TYPES = {"contract_id": "bigint", "spent_seconds": "int"}


def _by_instant(model, shape, key, rows: list[tuple]) -> tuple[str, list]:
    """PostgreSQL: the database turns instants into the client's local months (its own time
    zone rules, as the rebuild's) and sums the rows of one key, so that the write reads
    nothing."""
    grouped, summed = shape
    types = ["bigint", "timestamptz", *(TYPES.get(name, "varchar") for name in grouped)]
    value = "(" + ", ".join([f"%s::{kind}" for kind in types] + ["%s"] * len(summed)) + ")"
    clients = connection.ops.quote_name(Client._meta.db_table)
    groups = ", ".join(str(n) for n in range(1, len(grouped) + 3))
    select = (
        f"SELECT v.client_id, date_trunc('month', v.at AT TIME ZONE c.timezone)::date, "  # noqa: S608
        f"{', '.join(f'v.{name}' for name in grouped)}, "
        f"{', '.join(f'SUM(v.{name})' for name in summed)} "
        f"FROM (VALUES {', '.join([value] * len(rows))}) "
        f"AS v (client_id, at, {', '.join(grouped + summed)}) "
        f"JOIN {clients} c ON c.id = v.client_id "
        # Keys in one order, so that concurrent writes lock roll-up rows in the same order.
        f"GROUP BY {groups} ORDER BY {groups}"
    )
    fields = ("client_id", "month", *grouped)
    sql = _upsert_sql(model, fields, key, summed, select)
    return sql, [value for row in rows for value in row]


def _counts_by_instant(rows: list[tuple]) -> tuple[str, list]:
    return _by_instant(MonthlyClockRollup, COUNTS, COUNTS_KEY, rows)


def _times_by_instant(rows: list[tuple]) -> tuple[str, list]:
    return _by_instant(MonthlyClockTimeRollup, TIMES, TIMES_KEY, rows)


def _by_month(model, shape, key, rows: list[tuple], zones: dict[int, ZoneInfo]):
    """Other databases: local months in Python, the rows of one key summed."""
    grouped, summed = shape
    totals: dict[tuple, list[int]] = {}
    for client_id, at, *values in rows:
        month = at.astimezone(zones[client_id]).date().replace(day=1)
        total = totals.setdefault((client_id, month, *values[: len(grouped)]), [0] * len(summed))
        for index, n in enumerate(values[len(grouped) :]):
            total[index] += n
    value = "(" + ", ".join(["%s"] * (2 + len(grouped) + len(summed))) + ")"
    params = []
    for (client_id, month, *values), counts in totals.items():
        params.extend([client_id, connection.ops.adapt_datefield_value(month), *values, *counts])
    select = f"VALUES {', '.join([value] * len(totals))}"
    return _upsert_sql(model, ("client_id", "month", *grouped), key, summed, select), params


def _counts_by_month(rows: list[tuple], zones) -> tuple[str, list]:
    return _by_month(MonthlyClockRollup, COUNTS, COUNTS_KEY, rows, zones)


def _times_by_month(rows: list[tuple], zones) -> tuple[str, list]:
    return _by_month(MonthlyClockTimeRollup, TIMES, TIMES_KEY, rows, zones)


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
    the breached and the exempted counts of its month. Call with the clock row locked."""
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

GROUPS = ("client_id", "local_month", "kind", "ticket__priority", "ticket__contract_id", "exempt")


@transaction.atomic
def sla_rollups_rebuild(
    *, client_ids: list[int] | None = None, models=None, times_only: bool = False
) -> int:
    """Make the roll-ups of some clients (default: all) again from their clocks: for existing
    data (a migration), seeded data (the demo, the benches) and a client whose time zone
    changed. Grouped queries per time zone (local months by the database's own time zone
    arithmetic); returns the roll-up rows written. `models`: (Client, SLAClock,
    MonthlyClockRollup or None, MonthlyClockTimeRollup or None) of a migration's state. Safe
    while clocks change: the roll-ups are locked meanwhile on PostgreSQL, so writes waiting on
    them add their changes after."""
    client_model, clock_model, rollup_model, time_model = models or (
        Client,
        SLAClock,
        MonthlyClockRollup,
        MonthlyClockTimeRollup,
    )
    tables = [model for model in (rollup_model, time_model) if model is not None]
    if times_only:
        tables = [time_model]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in tables:
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    clients = client_model.objects.all()
    if client_ids is not None:
        clients = clients.filter(pk__in=client_ids)
    zones: dict[str, list[int]] = defaultdict(list)
    for pk, zone in clients.values_list("pk", "timezone"):
        zones[zone].append(pk)
    for model in tables:
        stale = model.objects.all()
        if client_ids is not None:
            stale = stale.filter(client_id__in=client_ids)
        stale.delete()
    made = 0
    if rollup_model in tables:
        made += _rebuild_counts(zones, clock_model, rollup_model)
    if time_model in tables:
        made += _rebuild_times(zones, clock_model, time_model)
    return made


def _local_month(instant: str, zone: str) -> TruncMonth:
    return TruncMonth(instant, tzinfo=ZoneInfo(zone), output_field=DateField())


def _rebuild_counts(zones: dict[str, list[int]], clock_model, rollup_model) -> int:
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
                concluded.annotate(local_month=_local_month(instant, zone))
                .values(*GROUPS)
                .annotate(n=Count("pk"))
                .order_by()
            )
            for row in grouped:
                key = (
                    row["client_id"],
                    row["local_month"],
                    row["kind"],
                    row["ticket__priority"],
                    row["ticket__contract_id"],
                )
                counts[key][column_of(row)] += row["n"]
    made = rollup_model.objects.bulk_create(
        (
            rollup_model(
                client_id=client_id,
                month=month,
                kind=kind,
                priority=priority,
                contract_id=contract_id,
                **columns,
            )
            # In month order, as the writes add them: a period's rows lie together.
            for (client_id, month, kind, priority, contract_id), columns in sorted(
                counts.items(), key=lambda item: (item[0][1], item[0][0], item[0][2:4])
            )
        ),
        batch_size=5000,
    )
    return len(made)


def _rebuild_times(zones: dict[str, list[int]], clock_model, time_model) -> int:
    rows = []
    for zone, ids in zones.items():
        grouped = (
            clock_model.objects.filter(
                client_id__in=ids, kind__in=COUNTED_KINDS, stopped_at__isnull=False
            )
            .annotate(local_month=_local_month("stopped_at", zone))
            .values("client_id", "local_month", "kind", "ticket__priority", "spent_seconds")
            .annotate(n=Count("pk"))
            .order_by()
        )
        rows.extend(grouped)
    rows.sort(key=lambda row: (row["local_month"], row["kind"], row["client_id"]))
    made = time_model.objects.bulk_create(
        (
            time_model(
                client_id=row["client_id"],
                month=row["local_month"],
                kind=row["kind"],
                priority=row["ticket__priority"],
                spent_seconds=row["spent_seconds"],
                stopped=row["n"],
            )
            for row in rows
        ),
        batch_size=5000,
    )
    return len(made)


def clocks_rolled_up(*, first_day: date, end_day: date, contracts, clients_without_contract=()):
    """Roll-up rows of the months [first_day, end_day) that count towards compliance, by the
    compliance scope rule (contracts.selectors.counted_clocks): clocks of tickets opened under
    the contracts measured, or any clock of a client with no contract for the period."""
    scope = Q(contract__in=contracts) | Q(client__in=clients_without_contract)
    return MonthlyClockRollup.objects.filter(scope, month__gte=first_day, month__lt=end_day)


def clock_time_percentiles(
    *,
    client_ids: list[int],
    first_day: date,
    end_day: date,
    kinds: tuple[str, ...],
    by_priority: bool,
    percents: tuple[int, ...],
) -> list[dict]:
    """Nearest-rank percentiles of the business time of the clocks that stopped in the months
    [first_day, end_day) of each client (local months, as periods are), per client and clock
    (and priority), from the time roll-ups: the same values as ranking the clocks themselves.
    One query; each row is {client_id, kind, priority (None over all priorities), percent,
    spent_seconds, total}."""
    if not client_ids:
        return []
    months, month = [], first_day.replace(day=1)
    while month < end_day:
        months.append(month)
        month = add_months(month, 1)
    table = connection.ops.quote_name(MonthlyClockTimeRollup._meta.db_table)
    by = ["client_id", "kind", *(["priority"] if by_priority else [])]
    where = (
        f"month IN ({', '.join(['%s'] * len(months))}) "
        f"AND kind IN ({', '.join(['%s'] * len(kinds))}) "
        f"AND client_id IN ({', '.join(['%s'] * len(client_ids))})"
    )
    days = [connection.ops.adapt_datefield_value(day) for day in months]
    params = [*days, *kinds, *client_ids]
    if connection.vendor == "postgresql":
        sql, params = _percentiles_postgresql(table, by, where, params, days, percents)
    else:
        sql = _percentiles_by_window(table, by, where, percents)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    results = []
    for row in found:
        client_id, kind = row[0], row[1]
        priority = row[2] if by_priority else None
        total = row[len(by)]
        for percent, spent in zip(percents, row[len(by) + 1 :], strict=True):
            results.append(
                {
                    "client_id": client_id,
                    "kind": kind,
                    "priority": priority,
                    "percent": percent,
                    "spent_seconds": spent,
                    "total": total,
                }
            )
    return results


def _rank(percent: int, total: str) -> str:
    """The nearest rank of `percent` among `total` clocks, in integer arithmetic."""
    return f"({total} * {int(percent)} + 99) / 100"


def _percentiles_postgresql(table, by, where, params, days, percents) -> tuple[str, list]:
    """Each group's clocks are mostly one per roll-up row (times hardly repeat): then the
    value at a rank is an element of the group's times sorted into an array, read in the
    index's order without a window. A group with a row of several clocks takes its ranks from
    a running count over its own rows (a subquery run only for such groups)."""
    total = "SUM(t.stopped)"
    same_group = " AND ".join(f"w.{column} = t.{column}" for column in by)
    months = ", ".join(["%s"] * len(days))
    values, subquery_params = [], []
    for percent in percents:
        rank = _rank(percent, total)
        values.append(
            f"CASE WHEN bool_and(t.stopped <= 1) "  # noqa: S608 (names, numbers)
            f"THEN (array_agg(t.spent_seconds ORDER BY t.spent_seconds) "
            f"FILTER (WHERE t.stopped > 0))[{rank}] "
            f"ELSE (SELECT MIN(r.spent_seconds) FROM (SELECT w.spent_seconds, "
            f"SUM(w.stopped) OVER (ORDER BY w.spent_seconds, w.priority, w.month "
            f"ROWS UNBOUNDED PRECEDING) AS running FROM {table} AS w "
            f"WHERE w.month IN ({months}) AND {same_group}) AS r "
            f"WHERE r.running >= {rank}) END"
        )
        subquery_params.extend(days)
    columns = ", ".join(f"t.{column}" for column in by)
    sql = (
        f"SELECT {columns}, {total}, {', '.join(values)} "  # noqa: S608 (names, numbers)
        f"FROM {table} AS t WHERE {where} GROUP BY {columns} HAVING {total} > 0"
    )
    # The subqueries' parameters come first: they are in the select list.
    return sql, [*subquery_params, *params]


def _percentiles_by_window(table, by, where, percents) -> str:
    """A running count of clocks in order of time spent, one roll-up row after the other (a
    value's rows of other priorities or months are further rows, not summed first): the value
    at rank r is the one whose row covers r (integer ranks, as the clocks' row numbers)."""
    partition = ", ".join(by)
    values = ", ".join(
        f"MIN(CASE WHEN running >= {_rank(p, 'total')} AND running - n < {_rank(p, 'total')} "
        f"THEN spent_seconds END)"
        for p in percents
    )
    return (
        f"SELECT {partition}, MAX(total), {values} FROM ("  # noqa: S608 (names, numbers)
        f"SELECT {partition}, spent_seconds, stopped AS n, "
        f"SUM(stopped) OVER (PARTITION BY {partition} ORDER BY spent_seconds, priority, month "
        f"ROWS UNBOUNDED PRECEDING) AS running, "
        f"SUM(stopped) OVER (PARTITION BY {partition}) AS total FROM {table} WHERE {where}"
        f") AS ranked GROUP BY {partition} HAVING MAX(total) > 0"
    )
