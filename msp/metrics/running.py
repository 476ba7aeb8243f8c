"""Exact totals of an append-only table without counting the whole table at every scrape.

Rows are counted by primary-key range: the totals up to a "settled" key are kept, and a scrape
counts only the rows above it (those of the last minute or so, through the primary-key index),
so its cost does not grow with the table.

A key is settled once no row at or below it can still appear: one scrape takes the largest
committed key as a checkpoint; a later one settles it when every transaction that could have
taken a smaller key has ended. On PostgreSQL that is read from transaction ids: at least
BARRIER_AFTER past the checkpoint (by when any insert that had taken a key then has its
transaction id), a scrape notes the next transaction id to be given (its snapshot's xmax) as a
barrier, and the checkpoint is settled as soon as the oldest running transaction (xmin) is at or
past the barrier. A long transaction only delays settling. Without transaction ids (SQLite, one
writer) the checkpoint settles after SETTLE.

The settled totals are kept in this process and shared through the cache, so a newly started
worker does not count the table again; the first scrapes of all (or after the cache was
emptied) count the whole table, until the first checkpoint settles.

Only for tables whose counted facts never change: SLA events, inbound messages by their id.
"""

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import Aggregate, BigIntegerField, Max, Q
from django.db.models.expressions import RawSQL

BARRIER_AFTER = timedelta(seconds=30)
SETTLE = timedelta(minutes=10)
NO_GROUP = ""


@dataclass
class _State:
    settled_pk: int = 0
    settled: dict[tuple[str, str], float] = field(default_factory=dict)  # (group, aggregate)
    # The checkpoint: the largest key seen at a scrape, and when; then the barrier.
    pending_pk: int | None = None
    pending_at: datetime | None = None
    barrier_xid: int | None = None


def _snapshot(bound: str) -> Max:
    sql = f"pg_snapshot_{bound}(pg_current_snapshot())::text::bigint"
    return Max(RawSQL(sql, (), output_field=BigIntegerField()))  # noqa: S611 - no input in it


def _number(value) -> float:
    """A count, or a sum of durations (in seconds); nothing is 0."""
    if value is None:
        return 0
    return value.total_seconds() if isinstance(value, timedelta) else value


class RunningTotals:
    """Totals of `aggregates` (name -> a Count or Sum, with its own filter if any) over a
    model's rows, grouped by `group` (a field) or not at all."""

    def __init__(self, name: str, model, aggregates: dict[str, Aggregate], group: str = ""):
        self.name = name
        self.model = model
        self.aggregates = aggregates
        self.group = group
        self.state = _State()

    @property
    def cache_key(self) -> str:
        return f"msp:metrics:v1:running:{self.name}"

    def _adopt_shared(self) -> None:
        try:
            shared = cache.get(self.cache_key)
        except Exception:  # the cache is down: this process's own totals are as exact
            return
        if isinstance(shared, _State) and shared.settled_pk > self.state.settled_pk:
            self.state = shared

    def _share(self) -> None:
        # The cache down: other processes settle on their own.
        with contextlib.suppress(Exception):
            cache.set(self.cache_key, self.state, timeout=None)

    def totals(self, *, now: datetime) -> dict[str, dict[str, float]]:
        """{group value: {aggregate name: total}} (group value "" when not grouped); one query."""
        self._adopt_shared()
        state = self.state
        split = state.pending_pk
        annotations = {"_max_pk": Max("pk")}
        transaction_ids = connection.vendor == "postgresql"
        if transaction_ids:
            annotations.update(_xmin=_snapshot("xmin"), _xmax=_snapshot("xmax"))
        for name, aggregate in self.aggregates.items():
            annotations[name] = aggregate
            if split is not None:
                settling = aggregate.copy()
                below = Q(pk__lte=split)
                settling.filter = below & aggregate.filter if aggregate.filter else below
                annotations[f"_settling_{name}"] = settling
        recent = self.model.objects.filter(pk__gt=state.settled_pk)
        group_field = self.group or "_"
        if self.group:
            rows = list(recent.values(self.group).order_by().annotate(**annotations))
        else:
            rows = [{**recent.aggregate(**annotations), group_field: NO_GROUP}]
        rows = [row for row in rows if row["_max_pk"] is not None]

        totals: dict[str, dict[str, float]] = {}
        for (group, name), value in state.settled.items():
            totals.setdefault(group, {})[name] = value
        max_pk = state.settled_pk
        for row in rows:
            max_pk = max(max_pk, row["_max_pk"])
            counts = totals.setdefault(str(row[group_field]), {})
            for name in self.aggregates:
                counts[name] = counts.get(name, 0) + _number(row[name])

        if split is not None and self._settles(now, rows[0] if rows else None):
            settled = dict(state.settled)
            for row in rows:
                for name in self.aggregates:
                    key = (str(row[group_field]), name)
                    settled[key] = settled.get(key, 0) + _number(row[f"_settling_{name}"])
            self.state = state = _State(settled_pk=split, settled=settled)
            self._share()
        if state.pending_pk is None and max_pk > state.settled_pk:
            state.pending_pk, state.pending_at = max_pk, now
        return totals

    def _settles(self, now: datetime, row: dict | None) -> bool:
        """Whether the checkpoint can be settled, as of this scrape's snapshot."""
        state = self.state
        waited = now - state.pending_at
        if row is None or "_xmin" not in row:
            return waited >= SETTLE
        if state.barrier_xid is None and waited >= BARRIER_AFTER:
            state.barrier_xid = row["_xmax"]
        return state.barrier_xid is not None and row["_xmin"] >= state.barrier_xid
