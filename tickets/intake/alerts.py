"""Monitoring and RMM alerts into tickets.

A firing alert opens a ticket; while that alert is open, repeats (same source and fingerprint)
add an occurrence to its ticket instead. The database decides which delivery is first: every
delivery inserts the alert with ON CONFLICT DO NOTHING against a partial unique index on open
alerts, then locks the one open row, so twenty concurrent repeats still make one ticket.
A resolved alert resolves its ticket when no person has worked it; otherwise it leaves a note.

A new episode of an alert whose last ticket is still open (a repeat after a noted resolution,
or after that ticket was merged) goes on that ticket. One that flaps, firing again within the
flap window (AlertSettings) of the automatic resolution of its ticket, reopens that ticket and
counts a flap; a ticket that a person resolved or closed is never reopened by an alert.

Nothing is dropped: an alert whose client or asset is not found (within the sender's scope) is
kept as an UnroutedAlert, which a dispatcher routes to a client later.
"""

import logging
import operator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import reduce

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from contracts import services as contract_services
from msp.models import Asset, Client, Site, User
from tickets import selectors, services
from tickets.choices import OPEN_STATUSES, EventKind, TicketSource, TicketStatus
from tickets.models import (
    Alert,
    AlertSettings,
    AlertStorm,
    Ticket,
    TimelineEvent,
    UnroutedAlert,
)

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
    action: str  # opened | repeated | reopened | resolved | noted | ignored | unrouted
    ticket_id: int | None
    unrouted_id: int | None = None


# Severity -> (impact, urgency); the priority matrix turns them into P1 (critical) to P4 (info).
SEVERITY_LEVELS = {
    "critical": ("high", "high"),
    "error": ("high", "medium"),
    "major": ("high", "medium"),
    "warning": ("medium", "medium"),
    "minor": ("medium", "medium"),
    "info": ("low", "medium"),
}
DEFAULT_SEVERITY = "warning"  # for a vendor's alert without a severity we know
# The asset an alert names, matched on these fields in order of preference.
ASSET_MATCH = ("rmm_id", "hostname", "name")


def _find_asset(reference: str, user: User) -> Asset | None:
    """The asset an alert names, by the fields of ASSET_MATCH in order of preference:
    one query for all of them."""
    if not reference:
        return None
    fields = ASSET_MATCH
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
    try:
        client, asset = resolve_target(alert, user)
    except ValidationError as exc:
        return _keep_unrouted(alert, user, at, reason=_reason(exc))
    return _fire(alert, client, asset, user, at)


def alerts_receive(*, alerts: list[AlertIn], user: User) -> list[AlertOutcome]:
    """Each alert of a delivery on its own: one that fails unexpectedly is rolled back alone
    and kept unrouted with the reason (and logged), so that it never blocks the others nor
    turns the delivery into an error that the sender would not retry."""
    outcomes = []
    for alert in alerts:
        try:
            outcomes.append(alert_receive(alert=alert, user=user))
        except Exception as exc:
            # Kept and logged, never dropped (the alert's own transaction was rolled back).
            log.exception("Alert %s could not be processed", alert.fingerprint)
            reason = f"Could not be processed ({type(exc).__name__}); route it by hand."
            outcomes.append(_keep_unrouted(alert, user, timezone.now(), reason=reason))
    return outcomes


def _reason(exc: ValidationError) -> str:
    return "; ".join(message for messages in exc.message_dict.values() for message in messages)


@transaction.atomic
def _fire(alert: AlertIn, client: Client, asset: Asset | None, user: User, at) -> AlertOutcome:
    repeated = _repeat_in_place(alert, client, at)
    if repeated is not None:
        return repeated
    rules = AlertSettings.current()  # read once per alert
    row = _open_row(alert, client, asset, at)
    ticket = selectors.ticket_surviving(row.ticket)
    if ticket is not None and ticket.is_open:
        return _repeat(alert, row, ticket, at)
    if ticket is not None:
        # Its ticket was resolved or closed by hand while the alert kept firing: a new episode.
        row.resolved_at = at
        row.save(update_fields=["resolved_at"])
        row = _open_row(alert, client, asset, at)
    previous = _previous_episode(row)
    ticket = selectors.ticket_surviving(previous.ticket) if previous is not None else None
    if ticket is not None and ticket.is_open:
        # Cleared while a person worked the ticket (only a note then), or merged since.
        row.flaps = previous.flaps + 1
        return _repeat(alert, row, ticket, at)
    if ticket is not None:
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket is not None and _flap_reopens(ticket, at, rules.flap_window_minutes):
        row.flaps = previous.flaps + 1
        # A firing sent before the resolution was recorded reopens at that resolution, since
        # clocks never go back in time.
        at = max(at, ticket.resolved_at)
        row.ticket = services.ticket_reopen(
            ticket=ticket,
            actor=None,
            reason=f"Monitoring alert fired again: {alert.summary} (flap {row.flaps})",
            at=at,
        )
        row.save(update_fields=["ticket", "flaps"])
        services.ticket_system_event(
            ticket=ticket,
            kind=EventKind.ALERT,
            at=at,
            detail=f"{alert.summary} (flapped: flap {row.flaps})",
        )
        _outages_open(alert, row, at)
        return AlertOutcome(alert.fingerprint, "reopened", ticket.pk)
    site_id = asset.site_id if asset is not None else None
    storm = _storm_active(client, site_id, at, rules)
    row.ticket = _open_ticket(
        alert, client, asset, user, at, parent=storm.ticket if storm else None
    )
    row.save(update_fields=["ticket"])
    if storm is not None:
        storm.alert_tickets += 1
        storm.last_alert_at = at
        storm.save(update_fields=["alert_tickets", "last_alert_at"])
    else:
        _storm_start_if_due(alert, client, site_id, user, at, rules)
    _outages_open(alert, row, at)
    return AlertOutcome(alert.fingerprint, "opened", row.ticket_id)


def _outages_open(alert: AlertIn, row: Alert, at: datetime) -> None:
    """A critical alert on an asset takes the services covering it down (availability)."""
    if alert.severity != "critical" or row.asset is None:
        return
    outages = contract_services.outages_from_alert_open(
        asset=row.asset, ticket=row.ticket, at=at, summary=alert.summary
    )
    row.outages.add(*outages)


def _storm_active(
    client: Client, site_id: int | None, at: datetime, rules: AlertSettings
) -> AlertStorm | None:
    """The storm still taking this alert, if any: one of the alert's site, or one across the
    client. The client row is locked first, so that concurrent alerts of one client decide
    about its storms one at a time."""
    Client.objects.select_for_update().filter(pk=client.pk).values_list("pk", flat=True).first()
    window = timedelta(minutes=rules.storm_window_minutes)
    scope = Q(site__isnull=True) | (Q(site_id=site_id) if site_id else Q())
    return (
        AlertStorm.objects.filter(
            scope, client=client, last_alert_at__gte=at - window, ticket__status__in=OPEN_STATUSES
        )
        .select_related("ticket")
        .order_by("-last_alert_at")
        .first()
    )


def _storm_start_if_due(
    alert: AlertIn,
    client: Client,
    site_id: int | None,
    user: User,
    at: datetime,
    rules: AlertSettings,
) -> None:
    """When the alert's site, or else the client, has had `storm_threshold` alert tickets
    within the storm window, one parent incident gathers them, and the storm's later alert
    tickets open under it."""
    recent = Ticket.objects.filter(
        client=client,
        source=TicketSource.ALERT,
        parent__isnull=True,
        status__in=OPEN_STATUSES,
        created_at__gte=at - timedelta(minutes=rules.storm_window_minutes),
        alert_storm__isnull=True,
    ).order_by("pk")
    site = None
    grouped = list(recent.filter(asset__site_id=site_id).values_list("pk", flat=True))
    if site_id and len(grouped) >= rules.storm_threshold:
        site = Site.objects.get(pk=site_id)
        where = f"{site.name} ({client.name})"
    else:
        grouped = list(recent.values_list("pk", flat=True))
        where = client.name
    if len(grouped) < rules.storm_threshold:
        return
    impact, urgency = SEVERITY_LEVELS[alert.severity]
    incident = services.ticket_open(
        client=client,
        site=site,
        subject=f"Alert storm: {len(grouped)} alerts for {where}"[:200],
        description="Monitoring alerts arriving together; each alert's ticket is a child.",
        impact=impact,
        urgency=urgency,
        source=TicketSource.ALERT,
        created_by=user if user.is_msp_staff else None,
        at=at,
    )
    AlertStorm.objects.create(
        client=client,
        site=site,
        ticket=incident,
        started_at=at,
        last_alert_at=at,
        alert_tickets=len(grouped),
    )
    services.tickets_group_under(
        ticket_ids=grouped,
        parent=incident,
        at=at,
        detail=f"Grouped under alert storm incident {incident.number}.",
    )


def _repeat_in_place(alert: AlertIn, client: Client, at: datetime) -> AlertOutcome | None:
    """The common case, in two statements: the alert is open and its ticket too (not merged
    away), so one UPDATE counts the occurrence (locking the row, as `_open_row` would) and one
    INSERT notes it on the ticket. None for every other case, which the full path handles."""
    alerts, tickets = Alert._meta.db_table, Ticket._meta.db_table
    placeholders = ", ".join(["%s"] * len(OPEN_STATUSES))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {alerts} SET occurrences = occurrences + 1, last_seen_at = %s
            WHERE client_id = %s AND source = %s AND fingerprint = %s AND resolved_at IS NULL
              AND ticket_id IN (SELECT id FROM {tickets}
                                WHERE status IN ({placeholders}) AND merged_into_id IS NULL)
            RETURNING ticket_id, occurrences, flaps""",  # noqa: S608 (table names, not input)
            [at, client.pk, alert.source, alert.fingerprint, *OPEN_STATUSES],
        )
        found = cursor.fetchone()
    if found is None:
        return None
    ticket_id, occurrences, flaps = found
    flapped = f", flap {flaps}" if flaps else ""
    services.ticket_system_event(
        ticket=ticket_id,
        kind=EventKind.ALERT,
        at=at,
        detail=f"{alert.summary} (fired again: occurrence {occurrences}{flapped})",
    )
    return AlertOutcome(alert.fingerprint, "repeated", ticket_id)


def _repeat(alert: AlertIn, row: Alert, ticket: Ticket, at: datetime) -> AlertOutcome:
    row.ticket = ticket
    row.occurrences += 1
    row.last_seen_at = at
    row.save(update_fields=["ticket", "occurrences", "last_seen_at", "flaps"])
    flapped = f", flap {row.flaps}" if row.flaps else ""
    services.ticket_system_event(
        ticket=ticket,
        kind=EventKind.ALERT,
        at=at,
        detail=f"{alert.summary} (fired again: occurrence {row.occurrences}{flapped})",
    )
    return AlertOutcome(alert.fingerprint, "repeated", ticket.pk)


def _previous_episode(row: Alert) -> Alert | None:
    return (
        Alert.objects.filter(
            client_id=row.client_id,
            source=row.source,
            fingerprint=row.fingerprint,
            resolved_at__isnull=False,
            ticket__isnull=False,
        )
        .select_related("ticket")
        .order_by("-resolved_at", "-pk")
        .first()
    )


def _flap_reopens(ticket: Ticket, at: datetime, minutes: int) -> bool:
    """A ticket resolved automatically (by its alert clearing) within the flap window; one a
    person resolved, or any closed ticket, is left alone."""
    if ticket.status != TicketStatus.RESOLVED or ticket.resolved_at is None:
        return False
    if not minutes or ticket.resolved_at < at - timedelta(minutes=minutes):
        return False
    last_resolution = (
        TimelineEvent.objects.filter(ticket_id=ticket.pk, kind=EventKind.RESOLVED)
        .order_by("-at", "-pk")
        .values("actor_id")
        .first()
    )
    return last_resolution is not None and last_resolution["actor_id"] is None


def _keep_unrouted(alert: AlertIn, user: User, at: datetime, *, reason: str) -> AlertOutcome:
    kept = UnroutedAlert.objects.create(
        source=alert.source,
        fingerprint=alert.fingerprint,
        status=alert.status,
        severity=alert.severity,
        summary=alert.summary[:200],
        details=alert.details,
        asset_reference=alert.asset[:255],
        client_reference=alert.client[:80],
        reason=reason[:255],
        sender=user,
        scope_client_id=None if user.is_msp_staff else user.client_id,
        received_at=at,
    )
    log.warning("Alert %s kept unrouted (#%s): %s", alert.fingerprint, kept.pk, reason)
    return AlertOutcome(alert.fingerprint, "unrouted", None, kept.pk)


def unrouted_clients(*, unrouted: UnroutedAlert, user: User):
    """The clients an unrouted alert may be routed to by this user: those the user sees, and
    only the sender's own client when the sender is a client user."""
    clients = Client.objects.for_user(user).order_by("name")
    if unrouted.scope_client_id is not None:
        clients = clients.filter(pk=unrouted.scope_client_id)
    return clients


def unrouted_alert_route(
    *, unrouted: UnroutedAlert, client: Client, actor: User, at: datetime | None = None
) -> AlertOutcome:
    """Route a kept alert to a client: its ticket is opened (or repeated, or reopened) exactly
    as if it had named that client, by the same rules."""
    at = at or timezone.now()
    if not actor.is_msp_staff:
        raise ValidationError("Only staff route alerts.")
    with transaction.atomic():
        unrouted = UnroutedAlert.objects.select_for_update().get(pk=unrouted.pk)
        if unrouted.routed_at is not None:
            raise ValidationError("This alert has already been routed.")
        if not unrouted_clients(unrouted=unrouted, user=actor).filter(pk=client.pk).exists():
            raise ValidationError({"client": "This alert cannot be routed to that client."})
        alert = AlertIn(
            source=unrouted.source,
            fingerprint=unrouted.fingerprint,
            status="firing",
            severity=unrouted.severity,
            summary=unrouted.summary,
            details=unrouted.details,
            asset=unrouted.asset_reference,
            client=str(client.pk),
        )
        asset = _find_asset(unrouted.asset_reference, actor)
        if asset is not None and asset.client_id != client.pk:
            asset = None
        resolution = replace(alert, status="resolved")
        if unrouted.status == "resolved":
            # A resolution that failed unexpectedly: it is applied to the chosen client.
            outcome = _resolve(resolution, unrouted.sender, at)
        else:
            outcome = _fire(alert, client, asset, unrouted.sender, at)
            if unrouted.resolved_at is not None:
                outcome = _resolve(resolution, unrouted.sender, at)
        unrouted.routed_client = client
        unrouted.routed_by = actor
        unrouted.routed_at = at
        unrouted.ticket_id = outcome.ticket_id
        unrouted.save(update_fields=["routed_client", "routed_by", "routed_at", "ticket"])
    return outcome


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


def _open_ticket(
    alert: AlertIn, client, asset, user: User, at: datetime, parent: Ticket | None = None
) -> Ticket:
    impact, urgency = SEVERITY_LEVELS[alert.severity]
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
        parent=parent,
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
            return _clear_unrouted(alert, user, at)
        row.resolved_at = at
        row.last_seen_at = at
        row.save(update_fields=["resolved_at", "last_seen_at"])
        contract_services.outages_from_alert_close(outages=row.outages.all(), at=at)
        ticket = row.ticket
        if ticket is None or not ticket.is_open:
            return AlertOutcome(alert.fingerprint, "ignored", row.ticket_id)
        message = f"Monitoring reports the alert resolved: {alert.summary}"
        if selectors.ticket_touched_by_a_person(ticket_id=ticket.pk):
            services.ticket_system_note(ticket=ticket, body=message, at=at)
            return AlertOutcome(alert.fingerprint, "noted", ticket.pk)
        services.ticket_resolve_automatically(ticket=ticket, resolution=message, at=at)
        return AlertOutcome(alert.fingerprint, "resolved", ticket.pk)


def _clear_unrouted(alert: AlertIn, user: User, at: datetime) -> AlertOutcome:
    """A resolution for an alert that was kept unrouted marks it cleared (within the sender's
    scope), so that routing it later does not leave a ticket open for nothing."""
    scope = Q(scope_client__isnull=True) if user.is_msp_staff else Q(scope_client=user.client_id)
    kept = (
        UnroutedAlert.objects.filter(
            scope,
            source=alert.source,
            fingerprint=alert.fingerprint,
            status="firing",
            routed_at__isnull=True,
            resolved_at__isnull=True,
        )
        .order_by("-received_at", "-pk")
        .first()
    )
    if kept is None:
        return AlertOutcome(alert.fingerprint, "ignored", None)
    kept.resolved_at = at
    kept.save(update_fields=["resolved_at"])
    return AlertOutcome(alert.fingerprint, "unrouted", None, kept.pk)
