"""Monitoring and RMM alerts into tickets.

A firing alert opens a ticket; while that alert is open, repeats (same source and fingerprint)
add an occurrence to its ticket instead. The database decides which delivery is first: every
delivery inserts the alert with ON CONFLICT DO NOTHING against a partial unique index on open
alerts, then locks the one open row, so twenty concurrent repeats still make one ticket.
A resolved alert resolves its ticket when no person has worked it; otherwise it leaves a note.
"""

import logging
import operator
from dataclasses import dataclass
from datetime import datetime
from functools import reduce

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from msp.models import Asset, Client, User
from tickets import selectors, services
from tickets.choices import EventKind, TicketSource, TicketStatus
from tickets.models import Alert, Ticket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertIn:
    """One alert as received, whatever the payload format."""

    source: str
    fingerprint: str
    status: str  # firing | resolved
    severity: str
    summary: str
    details: dict
    asset: str = ""  # RMM id or host name
    client: str = ""  # client id or slug, when the asset does not say


@dataclass(frozen=True)
class AlertOutcome:
    fingerprint: str
    action: str  # opened | repeated | resolved | noted | ignored
    ticket_id: int | None


def severity_levels() -> dict[str, tuple[str, str]]:
    return settings.ALERT_SEVERITY_LEVELS


def _find_asset(reference: str, user: User) -> Asset | None:
    """The asset an alert names, by the fields of ALERT_ASSET_MATCH in order of preference:
    one query for all of them."""
    if not reference:
        return None
    fields = settings.ALERT_ASSET_MATCH
    lookups = [
        Q(rmm_id=reference) if field == "rmm_id" else Q(**{f"{field}__iexact": reference})
        for field in fields
    ]
    rank = Case(
        *(When(lookup, then=Value(index)) for index, lookup in enumerate(lookups)),
        default=Value(len(lookups)),
    )
    return (
        Asset.objects.for_user(user)
        .filter(reduce(operator.or_, lookups), is_active=True)
        .select_related("client")
        .annotate(match_rank=rank)
        .order_by("match_rank", "pk")
        .first()
    )


def _find_client(reference: str, user: User) -> Client | None:
    if not reference:
        return None
    clients = Client.objects.for_user(user)
    match = Q(slug=reference) | (Q(pk=int(reference)) if reference.isdigit() else Q())
    return clients.filter(match).first()


def resolve_target(alert: AlertIn, user: User) -> tuple[Client, Asset | None]:
    """The client and asset an alert is about, or a ValidationError saying what is unknown."""
    asset = _find_asset(alert.asset, user)
    if asset is not None:
        return asset.client, asset
    client = _find_client(alert.client, user)
    if client is not None:
        return client, None
    if alert.asset:
        raise ValidationError({"asset": f"No asset with RMM id or host name “{alert.asset}”."})
    raise ValidationError({"client": "Say which client (or asset) the alert is about."})


def alert_receive(*, alert: AlertIn, user: User, at: datetime | None = None) -> AlertOutcome:
    at = at or timezone.now()
    if alert.status == "resolved":
        return _resolve(alert, user, at)
    client, asset = resolve_target(alert, user)
    with transaction.atomic():
        row = _open_row(alert, client, asset, at)
        ticket = row.ticket
        if ticket is not None and ticket.status not in (
            TicketStatus.RESOLVED,
            TicketStatus.CLOSED,
            TicketStatus.CANCELLED,
        ):
            row.occurrences += 1
            row.last_seen_at = at
            row.save(update_fields=["occurrences", "last_seen_at"])
            services.ticket_system_event(
                ticket=ticket,
                kind=EventKind.ALERT,
                at=at,
                detail=f"{alert.summary} (fired again: occurrence {row.occurrences})",
            )
            return AlertOutcome(alert.fingerprint, "repeated", ticket.pk)
        if ticket is not None:
            # Its ticket was closed by hand while the alert kept firing: a new episode.
            row.resolved_at = at
            row.save(update_fields=["resolved_at"])
            row = _open_row(alert, client, asset, at)
        row.ticket = _open_ticket(alert, client, asset, user, at)
        row.save(update_fields=["ticket"])
        return AlertOutcome(alert.fingerprint, "opened", row.ticket_id)


OPEN_ROW_ATTEMPTS = 5


def _open_row(alert: AlertIn, client: Client, asset: Asset | None, at: datetime) -> Alert:
    """The open episode of the alert, inserted if there is none, locked.

    The insert may conflict with an open row that a concurrent "resolved" closes before this
    transaction can lock it; the locking read then finds no open row, and the insert is tried
    again (it no longer conflicts), so a firing racing its resolution is never lost."""
    for _ in range(OPEN_ROW_ATTEMPTS):
        Alert.objects.bulk_create(
            [
                Alert(
                    source=alert.source,
                    fingerprint=alert.fingerprint,
                    client=client,
                    asset=asset,
                    severity=alert.severity,
                    summary=alert.summary[:200],
                    details=alert.details,
                    first_seen_at=at,
                    last_seen_at=at,
                )
            ],
            ignore_conflicts=True,
        )
        row = (
            Alert.objects.select_for_update(of=("self",))
            .select_related("ticket")
            .filter(
                client=client,
                source=alert.source,
                fingerprint=alert.fingerprint,
                resolved_at__isnull=True,
            )
            .first()
        )
        if row is not None:
            return row
    raise RuntimeError(f"Alert {alert.fingerprint} kept resolving while it was being opened.")


def _open_ticket(alert: AlertIn, client, asset, user: User, at: datetime) -> Ticket:
    impact, urgency = severity_levels()[alert.severity]
    lines = [f"{alert.source} alert, severity {alert.severity}, fingerprint {alert.fingerprint}."]
    lines += [f"- {key}: {value}" for key, value in sorted(alert.details.items())][:50]
    return services.ticket_open(
        client=client,
        asset=asset,
        subject=alert.summary[:200],
        description="\n".join(lines),
        impact=impact,
        urgency=urgency,
        source=TicketSource.ALERT,
        created_by=user if user.is_msp_staff else None,
        at=at,
    )


def _resolve(alert: AlertIn, user: User, at: datetime) -> AlertOutcome:
    # Only the sender's own clients' alerts: a fingerprint is unique per client, not globally.
    rows = Alert.objects.for_user(user).filter(
        source=alert.source, fingerprint=alert.fingerprint, resolved_at__isnull=True
    )
    client = None
    if alert.asset or alert.client:
        try:
            client, _ = resolve_target(alert, user)
            rows = rows.filter(client=client)
        except ValidationError:
            pass  # an asset retired since it fired: the sender's scope still holds
    if client is None and rows.values("client_id").distinct().count() > 1:
        # An MSP-wide sender naming no client, with this fingerprint open for several: which
        # one cleared is unknown, so none is resolved (each still resolves when named).
        return AlertOutcome(alert.fingerprint, "ignored", None)
    with transaction.atomic():
        row = rows.select_for_update(of=("self",)).select_related("ticket").order_by("pk").first()
        if row is None:
            return AlertOutcome(alert.fingerprint, "ignored", None)
        row.resolved_at = at
        row.last_seen_at = at
        row.save(update_fields=["resolved_at", "last_seen_at"])
        ticket = row.ticket
        if ticket is None or not ticket.is_open:
            return AlertOutcome(alert.fingerprint, "ignored", row.ticket_id)
        message = f"Monitoring reports the alert resolved: {alert.summary}"
        if selectors.ticket_touched_by_a_person(ticket_id=ticket.pk):
            services.ticket_system_note(ticket=ticket, body=message, at=at)
            return AlertOutcome(alert.fingerprint, "noted", ticket.pk)
        services.ticket_resolve_automatically(ticket=ticket, resolution=message, at=at)
        return AlertOutcome(alert.fingerprint, "resolved", ticket.pk)
