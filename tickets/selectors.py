"""Reads of tickets: queues, the ticket page, the priority matrix."""

from datetime import date, datetime, timedelta

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from msp.models import User
from sla.choices import Priority
from sla.models import SLAClock
from tickets.choices import EventKind, Impact, Urgency
from tickets.models import PriorityMatrixCell, Ticket, TimeEntry, TimelineEvent

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
