"""Reads of tickets: queues, the ticket page, the priority matrix."""

from datetime import date, datetime, timedelta

from django.db import connections
from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils import timezone

from msp.models import User
from msp.prepared import PreparedQuery, attnames, instance, instance_by_pk
from sla.choices import Priority
from sla.models import SLAClock
from tickets.choices import EventKind, Impact, TimeEntryState, Urgency
from tickets.filtersets import TicketFilterSet
from tickets.models import (
    Attachment,
    Comment,
    PriorityMatrixCell,
    SavedView,
    Ticket,
    TimeEntry,
    TimelineEvent,
)

# ITIL's usual matrix, used when a cell has not been configured.
DEFAULT_MATRIX = {
    (Impact.HIGH, Urgency.HIGH): Priority.P1,
    (Impact.HIGH, Urgency.MEDIUM): Priority.P2,
    (Impact.HIGH, Urgency.LOW): Priority.P3,
    (Impact.MEDIUM, Urgency.HIGH): Priority.P2,
    (Impact.MEDIUM, Urgency.MEDIUM): Priority.P3,
    (Impact.MEDIUM, Urgency.LOW): Priority.P4,
    (Impact.LOW, Urgency.HIGH): Priority.P3,
    (Impact.LOW, Urgency.MEDIUM): Priority.P4,
    (Impact.LOW, Urgency.LOW): Priority.P4,
}
BREACHING_SOON = timedelta(hours=2)


def priority_from_matrix(*, impact: str, urgency: str) -> str:
    cell = PriorityMatrixCell.objects.filter(impact=impact, urgency=urgency).first()
    return cell.priority if cell else DEFAULT_MATRIX[(impact, urgency)]


class Queue:
    MINE = "mine"
    MY_TIER = "tier"
    UNASSIGNED = "unassigned"
    BREACHING = "breaching"
    ALL_OPEN = "open"
    ALL = "all"

    LABELS = {
        MINE: "My tickets",
        MY_TIER: "My tier and teams",
        UNASSIGNED: "Unassigned",
        BREACHING: "Breaching soon",
        ALL_OPEN: "All open",
        ALL: "All tickets",
    }


def ticket_queue(*, user: User, queue: str, now: datetime | None = None) -> QuerySet[Ticket]:
    """Open tickets of one queue, visible to the user, next SLA deadline first."""
    now = now or timezone.now()
    tickets = Ticket.objects.for_user(user)
    if queue == Queue.ALL:
        return tickets.with_list_related().order_by("-pk")
    tickets = tickets.open()
    if queue == Queue.MINE:
        tickets = tickets.filter(assignee=user)
    elif queue == Queue.MY_TIER:
        # The user's teams first (a small read): someone with no team and no tier has an
        # empty queue at once, rather than a scan of every open ticket for no match.
        team_ids = list(user.teams.values_list("pk", flat=True))
        if not team_ids and not user.tier:
            return tickets.none()
        mine = Q(team_id__in=team_ids)
        tickets = tickets.filter(mine | Q(tier=user.tier) if user.tier else mine)
    elif queue == Queue.UNASSIGNED:
        tickets = tickets.filter(assignee__isnull=True)
    elif queue == Queue.BREACHING:
        tickets = tickets.filter(sla_due_at__lte=now + BREACHING_SOON)
    return tickets.with_list_related().by_sla_urgency()


def ticket_detail(*, user: User, pk: int) -> Ticket:
    return (
        Ticket.objects.for_user(user)
        .select_related(
            "client",
            "contact",
            "site",
            "asset",
            "assignee",
            "team",
            "sla_policy",
            "contract",
            "merged_into",
        )
        .prefetch_related(
            Prefetch("sla_clocks", queryset=SLAClock.objects.order_by("kind", "cycle")),
            Prefetch(
                "events",
                queryset=TimelineEvent.objects.select_related("actor", "comment").order_by(
                    "at", "pk"
                ),
            ),
            Prefetch(
                "time_entries",
                queryset=TimeEntry.objects.select_related("user").order_by("spent_on"),
            ),
            "attachments",
            "children",
        )
        .get(pk=pk)
    )


def contract_usage(*, contract_id: int, first_day: date, next_first_day: date) -> dict[str, int]:
    """Billable minutes by work type logged on a contract's tickets between two local dates."""
    rows = (
        TimeEntry.objects.filter(
            ticket__contract_id=contract_id,
            billable=True,
            spent_on__gte=first_day,
            spent_on__lt=next_first_day,
        )
        .values("work_type")
        .annotate(minutes=Sum("minutes"))
    )
    return {row["work_type"]: row["minutes"] for row in rows}


def ticket_touched_by_a_person(*, ticket_id: int) -> bool:
    """Whether a person has acted on the ticket since it was opened: any timeline entry with
    an actor (a reply, a note, an assignment, time, a status or priority change, a file, a
    client's message...). Opening it does not count: an RMM's own token opens alert tickets."""
    return (
        TimelineEvent.objects.filter(ticket_id=ticket_id, actor__isnull=False)
        .exclude(kind=EventKind.CREATED)
        .exists()
    )


def ticket_surviving(ticket: Ticket | None) -> Ticket | None:
    """The ticket a (possibly merged, possibly more than once) ticket lives on in: where an
    email reply or an alert about it belongs."""
    seen = set()
    while ticket is not None and ticket.merged_into_id and ticket.pk not in seen:
        seen.add(ticket.pk)
        ticket = ticket.merged_into
    return ticket


# The queue's sortable columns: each order ends on the primary key, so a page boundary never
# repeats or skips a ticket. A descending sort is the exact reverse. The SLA, priority and
# last-change orders read an open-ticket index forwards or backwards (models.Ticket.Meta:
# ticket_open_sla_idx, _priority_idx, _updated_idx), a page without sorting. By client name
# is a top-N sort of the view's open tickets (the names are in another table; 0.8 s over
# 20,000 open tickets on a loaded bench machine); within one client, _client_idx gives the
# SLA order.
QUEUE_SORTS = {
    "sla": ("sla_due_at", "pk"),
    "priority": ("priority", "sla_due_at", "pk"),
    "updated": ("updated_at", "pk"),
    "client": ("client__name", "client_id", "sla_due_at", "pk"),
}
SORT_LABELS = {
    "sla": "Next SLA deadline",
    "priority": "Pri",
    "updated": "Updated",
    "client": "Client",
}


def queue_sort(value: str | None) -> tuple[str, bool] | None:
    """`sort=priority` or `sort=-priority` to (column, descending); None for the default."""
    value = (value or "").strip()
    key = value.lstrip("-")
    if key not in QUEUE_SORTS:
        return None
    return key, value.startswith("-")


def queue_ordered(tickets: QuerySet[Ticket], sort: str | None) -> QuerySet[Ticket]:
    """The queue in the order asked for; as the queue gives it when no sort is named."""
    parsed = queue_sort(sort)
    if parsed is None:
        return tickets
    key, descending = parsed
    # NULLs (a paused ticket's deadline) sort after every date ascending, before them
    # descending: as PostgreSQL's B-tree stores them, so the index is read either way.
    order = [
        F(name).desc(nulls_first=True) if descending else F(name).asc(nulls_last=True)
        for name in QUEUE_SORTS[key]
    ]
    return tickets.order_by(*order)


SAVED_VIEW_KEYS = ("queue", "q", "client", "priority", "status", "tier", "assignee", "sort")
# A saved view's count stops here: the navigation says "500+" rather than count every
# ticket of a broad view on each page load.
SAVED_VIEW_COUNT_CAP = 500


def saved_view_query(querystring: str) -> QueryDict:
    """Only the queue's own filters and sort, whatever a stored query string holds."""
    given = QueryDict(querystring)
    kept = QueryDict(mutable=True)
    for key in SAVED_VIEW_KEYS:
        if given.get(key):
            kept[key] = given[key]
    return kept


def queue_tickets(*, user: User, query: QueryDict, request=None):
    """The tickets of a queue page's query (queue, filters, sort) and its FilterSet."""
    queue = query.get("queue", Queue.ALL_OPEN)
    if queue not in Queue.LABELS:
        queue = Queue.ALL_OPEN
    tickets = ticket_queue(user=user, queue=queue)
    filterset = TicketFilterSet(query or None, queryset=tickets, request=request)
    return queue, filterset


def saved_views_visible(*, user: User) -> list:
    """The user's own views and everyone's shared ones, in their order: one query."""
    return list(
        SavedView.objects.filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
        .order_by("-shared", "position", "name", "pk")
    )


class _Viewer:
    """What a FilterSet needs of a request: the user (its client choices)."""

    def __init__(self, user: User) -> None:
        self.user = user


def saved_view_counts(*, user: User, views: list) -> dict[int, int]:
    """Tickets in each saved view as `user` sees them (their client scope), capped at
    SAVED_VIEW_COUNT_CAP: one query for every view, each count a bounded subquery."""
    if not views:
        return {}
    parts, params = [], []
    viewer = _Viewer(user)
    for view in views:
        _queue, filterset = queue_tickets(
            user=user, query=saved_view_query(view.querystring), request=viewer
        )
        if filterset.is_bound and not filterset.is_valid():
            parts.append("0")
            continue
        rows = filterset.qs.order_by().values("pk")[:SAVED_VIEW_COUNT_CAP]
        sql, sql_params = rows.query.get_compiler(using=rows.db).as_sql()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS view_{len(parts)})")  # noqa: S608
        params.extend(sql_params)
    with connections[Ticket.objects.db].cursor() as cursor:
        # Each part is a subquery compiled by Django; every value is a parameter.
        cursor.execute("SELECT " + ", ".join(parts), params)
        counts = cursor.fetchone()
    return {view.pk: int(count) for view, count in zip(views, counts, strict=True)}


def ticket_merge_preview(*, user: User, ticket_ids: list[int]) -> list[Ticket]:
    """Tickets with what a merge would move or stop: replies and notes, files, time entries
    and their minutes, and clocks still going. One query."""

    def count(model, **filters):
        rows = (
            model.objects.filter(ticket=OuterRef("pk"), **filters)
            .order_by()
            .values("ticket")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(rows), 0)

    minutes = (
        TimeEntry.objects.filter(ticket=OuterRef("pk"))
        .order_by()
        .values("ticket")
        .annotate(n=Sum("minutes"))
        .values("n")
    )
    return list(
        Ticket.objects.for_user(user)
        .filter(pk__in=ticket_ids)
        .select_related("client", "assignee")
        .annotate(
            replies_count=count(Comment, is_public=True),
            notes_count=count(Comment, is_public=False),
            attachments_count=count(Attachment),
            time_entries_count=count(TimeEntry),
            time_minutes=Coalesce(Subquery(minutes), 0),
            live_clocks_count=count(SLAClock, stopped_at__isnull=True),
        )
        .order_by("pk")
    )


# Time approval ---------------------------------------------------------------------------------


def approved_billable_time(*, client_ids, start: date, end: date) -> QuerySet[TimeEntry]:
    """Approved billable time of these clients with spent_on in [start, end), with its ticket
    and technician: what billing charges (drafts, submitted and rejected time never are)."""
    return (
        TimeEntry.objects.filter(
            client_id__in=list(client_ids),
            state=TimeEntryState.APPROVED,
            billable=True,
            spent_on__gte=start,
            spent_on__lt=end,
        )
        .select_related("ticket", "user")
        .order_by("client_id", "spent_on", "pk")
    )


def timesheet_entries(*, user: User, week_start: date) -> QuerySet[TimeEntry]:
    """The user's own entries of a week (Monday to Sunday), with ticket, client and decider:
    one query for the whole timesheet."""
    return (
        TimeEntry.objects.filter(
            user=user, spent_on__gte=week_start, spent_on__lt=week_start + timedelta(days=7)
        )
        .select_related("ticket", "client", "decided_by")
        .order_by("spent_on", "started_at", "pk")
    )


def time_entries_awaiting_approval(*, user: User) -> QuerySet[TimeEntry]:
    """Submitted time of the clients the manager sees, by technician and day."""
    return (
        TimeEntry.objects.for_user(user)
        .filter(state=TimeEntryState.SUBMITTED)
        .select_related("ticket", "client", "user")
        .order_by("user__full_name", "user_id", "spent_on", "pk")
    )


_CLOCKS_OF = PreparedQuery(
    lambda *, ticket_id: (
        SLAClock.objects.filter(ticket_id=ticket_id)
        .order_by("kind", "cycle")
        .values_list(*attnames(SLAClock))
    )
)


def ticket_with_clocks(pk: int, *, missing_ok: bool = False) -> Ticket | None:
    """A ticket with its clocks in hand, as the API shows it: two queries compiled once per
    process (msp.prepared). A ticket that does not exist is an error, or None if
    `missing_ok`."""
    ticket = instance_by_pk(Ticket, pk)
    if ticket is None:
        if missing_ok:
            return None
        raise Ticket.DoesNotExist(f"No ticket {pk}.")
    ticket_clocks_keep(ticket, [instance(SLAClock, row) for row in _CLOCKS_OF.rows(ticket_id=pk)])
    return ticket


def ticket_clocks_keep(ticket: Ticket, rows: list[SLAClock]) -> None:
    """The ticket's clocks, kept on it as a prefetch would (in the model's order)."""
    clocks = SLAClock.objects.filter(ticket_id=ticket.pk)
    clocks._result_cache = sorted(rows, key=lambda row: (row.kind, row.cycle))
    clocks._prefetch_done = True
    ticket._prefetched_objects_cache = {"sla_clocks": clocks}
