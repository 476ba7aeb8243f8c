"""One ticket write: the ticket row locked, its SLA clocks loaded once on first use, and the
ticket's summary of its clocks (nearest deadline, warning, breach) kept in step on save.

Every change to a ticket goes through a `TicketWrite`: the services of this package open one
per call, and the timers (sweep, maintenance pauses) open one per ticket and compose the same
steps, so that a ticket is locked once, read once and saved once per change.
"""

import functools
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from msp.bulk import rows_update
from msp.models import Team, User
from msp.prepared import PreparedQuery, attnames, instance
from msp.validators import CONFLICT
from sla.models import SLAClock, SLAPolicy
from sla.ticket_clocks import (
    TicketClocks,
    sla_resolution_pause,
    sla_resolution_reopen,
    sla_resolution_resume,
)
from tickets.choices import EventKind, TicketStatus
from tickets.models import Ticket, TimelineEvent
from tickets.webhooks import ticket_events_emit

FINISHED_STATUSES = (TicketStatus.CLOSED, TicketStatus.CANCELLED)

SLA_SUMMARY_FIELDS = ("sla_due_at", "sla_warn_at", "sla_breached")


@dataclass
class TicketWrite:
    ticket: Ticket
    actor: User | None
    at: datetime
    _clocks: TicketClocks | None = field(default=None, repr=False)
    _serving: frozenset[int] | None = field(default=None, repr=False)
    # Set when the write is one of a `TicketWrites` batch, which saves it with the others.
    batch: "TicketWrites | None" = field(default=None, repr=False)

    @classmethod
    def begin(
        cls,
        ticket: Ticket | int,
        actor: User | None,
        at: datetime | None = None,
        *,
        skip_locked: bool = False,
    ):
        """Lock the ticket's row (the caller is in a transaction) and start the write. With
        `skip_locked` (the sweep): None when a service or another sweep holds the row."""
        pk = ticket if isinstance(ticket, int) else ticket.pk
        locked = _ticket_locked(pk, skip_locked=skip_locked)
        if locked is None and not skip_locked:
            raise Ticket.DoesNotExist(f"No ticket {pk}.")
        return None if locked is None else cls(locked, actor, at or timezone.now())

    @classmethod
    def opened(cls, ticket: Ticket, clocks: TicketClocks, actor: User | None, at: datetime):
        """A ticket being opened, with the clocks it starts with (see `insert`)."""
        return cls(ticket, actor, at, clocks)

    @property
    def clocks(self) -> TicketClocks:
        if self._clocks is None:
            self._clocks = TicketClocks.lock(self.ticket)
        return self._clocks

    def event(self, kind: str, *, actor=..., at: datetime | None = None, **values):
        event = TimelineEvent(
            ticket=self.ticket,
            kind=kind,
            actor=self.actor if actor is ... else actor,
            at=at or self.at,
            **values,
        )
        if self.batch is not None:
            self.batch.events.append(event)
        else:
            rows_insert(TimelineEvent, [event])
            ticket_events_emit([event])
        return event

    def save(self, *fields: str) -> Ticket:
        """Save the named fields, and the SLA summary when clocks were touched."""
        if self.batch is not None:
            self.batch.fields.update(fields)
            return self.ticket
        summary_fields = ()
        if self._clocks is not None:
            self.summarise()
            summary_fields = SLA_SUMMARY_FIELDS
        self.ticket.save(update_fields=[*dict.fromkeys(fields), *summary_fields, "updated_at"])
        return self.ticket

    def insert(self) -> Ticket:
        """A new ticket and the clocks it starts with: the ticket's INSERT carries their
        summary, then the clocks are inserted in one statement."""
        self.summarise()
        rows_insert(Ticket, [self.ticket])
        for row in self._clocks.rows:
            row.ticket = self.ticket  # now with its id
        rows_insert(SLAClock, self._clocks.rows)
        return self.ticket

    def summarise(self) -> None:
        """Copy the clocks' summary onto the ticket (not saved: the caller's write saves it)."""
        summary = self._clocks.summary()
        self.ticket.sla_due_at = summary.due_at
        self.ticket.sla_warn_at = summary.warn_at
        self.ticket.sla_breached = summary.breached

    # Checks -----------------------------------------------------------------------------------

    def serves(self, user: User) -> bool:
        """Whether `user` sees the ticket's client (their teams serve it): the staff who do
        are read once per write, however many people a change names."""
        if self._serving is None:
            if self.batch is not None:
                self._serving = self.batch.serving(self.ticket.client_id)
            else:
                self._serving = staff_serving(self.ticket.client_id)
        return user.pk in self._serving

    def team_of_tier(self, tier: str) -> Team | None:
        """The team that takes a tier's tickets (the first by name), with its lead."""
        if self.batch is not None:
            return self.batch.team_of_tier(tier)
        return _team_of_tier(tier)

    def require_serving(self, user: User | None, field: str = "assignee") -> None:
        """A ticket goes only to staff who see its client."""
        if user is not None and not self.serves(user):
            raise ValidationError({field: f"{user} does not serve {self.ticket.client}."})

    def require_staff(self) -> None:
        if self.actor is None or not self.actor.is_msp_staff:
            raise ValidationError("Only MSP staff may do this.")

    def require_open(self, action: str) -> None:
        if self.ticket.status in FINISHED_STATUSES:
            raise ValidationError(
                f"Ticket {self.ticket.number} is {self.ticket.get_status_display().lower()}; "
                f"it cannot {action}.",
                code=CONFLICT,
            )

    # Status and the resolution clock's pauses ---------------------------------------------------

    def set_status(self, status: str, *, detail: str = "") -> None:
        """Change the status, pausing or resuming the resolution clock as the policy says."""
        old = self.ticket.status
        if old == status:
            return
        pause_statuses = self.ticket.sla_policy.pause_statuses
        was_paused, now_paused = old in pause_statuses, status in pause_statuses
        self.ticket.status = status
        if now_paused and not was_paused:
            sla_resolution_pause(self.clocks, at=self.at)
        elif was_paused and not now_paused:
            sla_resolution_resume(self.clocks, at=self.at)
        self.event(EventKind.STATUS, old_value=old, new_value=status, detail=detail)

    def reopen(self, reason: str) -> None:
        """A resolved ticket back in progress: the resolution clock runs again."""
        self.ticket.status = TicketStatus.IN_PROGRESS
        self.ticket.resolved_at = None
        sla_resolution_reopen(self.clocks, at=self.at)
        self.event(
            EventKind.REOPENED,
            old_value=TicketStatus.RESOLVED,
            new_value=TicketStatus.IN_PROGRESS,
            detail=reason,
        )


class TicketWrites:
    """Writes of several tickets made together (the timer sweep): each ticket is changed by
    the same steps as a single write, then `flush` inserts all their timeline entries in one
    statement and updates the tickets in one."""

    def __init__(self, writes: list[TicketWrite], serving: dict[int, frozenset[int]]):
        self.writes = writes
        self.events: list[TimelineEvent] = []
        self.fields: set[str] = set(SLA_SUMMARY_FIELDS)
        self._serving = serving
        self._teams: dict[str, Team | None] = {}
        for write in writes:
            write.batch = self

    @classmethod
    def begin(
        cls,
        ticket_ids: list[int],
        at: datetime,
        *,
        related: tuple[str, ...] = (),
        serving: dict[int, frozenset[int]] | None = None,
    ) -> "TicketWrites":
        """Lock the tickets no one else holds (skip_locked), then their clocks: two
        statements. `serving` caches the staff who see each client beyond this batch."""
        tickets = list(
            Ticket.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("sla_policy", *related)
            .filter(pk__in=ticket_ids)
            .order_by("pk")
        )
        writes = [
            TicketWrite(clocks.ticket, None, at, clocks)
            for clocks in TicketClocks.lock_many(tickets)
        ]
        return cls(writes, {} if serving is None else serving)

    def serving(self, client_id: int) -> frozenset[int]:
        if client_id not in self._serving:
            # Read for every client of the batch at once.
            unread = {write.ticket.client_id for write in self.writes} - self._serving.keys()
            self._serving.update(User.objects.seeing_clients(unread))
        return self._serving[client_id]

    def team_of_tier(self, tier: str) -> Team | None:
        if tier not in self._teams:
            self._teams[tier] = _team_of_tier(tier)
        return self._teams[tier]

    def flush(self, ticket_ids) -> None:
        """Save the tickets of `ticket_ids` (the ones changed) and every timeline entry."""
        changed = [write for write in self.writes if write.ticket.pk in ticket_ids]
        updated_at = timezone.now()
        for write in changed:
            write.summarise()
            write.ticket.updated_at = updated_at  # a bulk update does not apply auto_now
        rows_update([write.ticket for write in changed], sorted({*self.fields, "updated_at"}))
        TimelineEvent.objects.bulk_create(self.events)
        # The batch's webhooks: one read of endpoints and one insert, only if any subscribe.
        ticket_events_emit(self.events)


def _lock_query(*, skip_locked: bool) -> PreparedQuery:
    columns = [*attnames(Ticket), *[f"sla_policy__{name}" for name in attnames(SLAPolicy)]]
    return PreparedQuery(
        lambda *, pk: (
            Ticket.objects.select_for_update(skip_locked=skip_locked, of=("self",))
            .filter(pk=pk)
            .values_list(*columns)
        ),
        locks=True,
    )


# Every change to a ticket starts here (msp.prepared: compiled once per process).
_LOCK = {skip_locked: _lock_query(skip_locked=skip_locked) for skip_locked in (False, True)}


def _ticket_locked(pk: int, *, skip_locked: bool) -> Ticket | None:
    """The ticket's row locked (None if it does not exist, or with `skip_locked` if another
    transaction holds it), with its SLA policy."""
    row = _LOCK[skip_locked].first(pk=pk)
    if row is None:
        return None
    width = len(attnames(Ticket))
    locked = instance(Ticket, row[:width])
    locked.sla_policy = None if locked.sla_policy_id is None else instance(SLAPolicy, row[width:])
    return locked


def staff_serving(client_id: int) -> frozenset[int]:
    """Ids of the active staff who see client `client_id`."""
    return frozenset(User.objects.seeing_client(client_id).values_list("pk", flat=True))


def _team_of_tier(tier: str) -> Team | None:
    return Team.objects.filter(tier=tier).select_related("lead").order_by("name").first()


def ticket_system_event(*, ticket: Ticket | int, kind: str, at: datetime, detail: str = ""):
    """A timeline entry made by the system (no actor) that changes nothing else on the ticket
    (given as a row or its id), e.g. an alert's repeat or an email set aside."""
    ticket_id = ticket if isinstance(ticket, int) else ticket.pk
    return TimelineEvent.objects.create(
        ticket_id=ticket_id, kind=kind, actor=None, at=at, detail=detail
    )


@dataclass(frozen=True)
class _Insert:
    fields: list
    stamped: list
    head: str
    one_row: str
    returning: str


@functools.cache
def _insert_of(model) -> _Insert:
    """The parts of a model's INSERT that are the same for every row (made once)."""
    fields = [column for column in model._meta.concrete_fields if not column.primary_key]
    # auto_now fields (updated_at) are set by pre_save, as on any save.
    stamped = [
        column
        for column in fields
        if getattr(column, "auto_now", False) or getattr(column, "auto_now_add", False)
    ]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column.column) for column in fields)
    return _Insert(
        fields=fields,
        stamped=stamped,
        head=f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ",  # noqa: S608 (our names)
        one_row=f"({', '.join(['%s'] * len(fields))})",
        returning=f" RETURNING {quote(model._meta.pk.column)}",
    )


def user_serves_client(user: User, client_id: int) -> bool:
    return User.objects.seeing_client(client_id).filter(pk=user.pk).exists()


def rows_insert(model, rows: list) -> None:
    """`bulk_create` for new rows of plain values, in one INSERT ... RETURNING id. Django's
    runs every value through its expression machinery, which was most of the time of opening
    a group of alert tickets; here a value psycopg2 takes as it is (None, int, str, bool, an
    aware datetime) goes as it is, any other through its field's own preparation."""
    if not rows:
        return
    insert = _insert_of(model)
    fields = insert.fields
    params = []
    for row in rows:
        for column in insert.stamped:
            column.pre_save(row, add=True)
        for column in fields:
            value = getattr(row, column.attname)
            kind = type(value)
            if (
                value is None
                or kind in (int, str, bool)
                or (kind is datetime and value.tzinfo is not None)
            ):
                pass
            elif isinstance(value, str):  # a choice (a TextChoices member): its text
                value = str.__str__(value)
            else:
                value = column.get_db_prep_save(value, connection)
            params.append(value)
    head, one, returning = insert.head, insert.one_row, insert.returning
    size = max(connection.ops.bulk_batch_size(fields, rows), 1)
    width = len(fields)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            cursor.execute(
                f"{head}{', '.join([one] * len(batch))}{returning}",
                params[start * width : (start + len(batch)) * width],
            )
            # PostgreSQL returns the rows of a multi-row INSERT in the order given (Django's
            # bulk_create relies on it too).
            for row, (pk,) in zip(batch, cursor.fetchall(), strict=True):
                row.pk = pk
                row._state.adding = False
                row._state.db = connection.alias
