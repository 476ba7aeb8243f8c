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
from django.db.models import Case, Count, Q, Value, When
from django.db.models.functions import Upper
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
from tickets.services.opening import NewTicket, tickets_open

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
    """The alerts of one delivery (Alertmanager, Grafana and the like send groups of them).

    The firing alerts that can go together are handled as one group (`_AlertGroup`), in a
    fixed number of statements however many they are; the others (resolutions, an alert
    repeated within the delivery, episodes that need the flap and storm rules one by one)
    follow, one at a time, in the order received. Each alert that fails unexpectedly is
    rolled back alone and kept unrouted with the reason (and logged), so that it never blocks
    the others nor turns the delivery into an error that the sender would not retry; if the
    group as a whole fails, its alerts are handled one at a time instead."""
    at = timezone.now()
    try:
        targets = _targets_of(alerts, user)
    except Exception:
        # Each alert looks its target up on its own below, failing alone if it must.
        log.exception("The targets of %d alerts could not be read together", len(alerts))
        targets = [None] * len(alerts)
    outcomes: list[AlertOutcome | None] = [None] * len(alerts)
    # The group takes each alert's first firing in the delivery; an alert that also clears in
    # it goes one step at a time, in order.
    clearing = {(a.source, a.fingerprint) for a in alerts if a.status == "resolved"}
    group = _AlertGroup(user, at) if connection.vendor == "postgresql" else None
    joined: list[int] = []
    alone: list[int] = []
    for index, alert in enumerate(alerts):
        target = targets[index]
        if (
            group is None
            or alert.status == "resolved"
            or target is None
            or isinstance(target, ValidationError)
            or (alert.source, alert.fingerprint) in clearing
            or group.has(alert, target[0])
        ):
            alone.append(index)
            continue
        try:
            _fire(alert, *target, user, at, group)
            joined.append(index)
        except Exception as exc:
            outcomes[index] = _failed(alert, user, exc)
    if joined:
        try:
            for index, outcome in zip(joined, group.run(), strict=True):
                outcomes[index] = outcome
        except Exception:
            # Nothing of the group was written: each of its alerts goes on its own below.
            log.exception("A group of %d alerts could not be processed together", len(joined))
    for index in sorted(alone + [i for i in joined if outcomes[i] is None]):
        alert = alerts[index]
        try:
            outcomes[index] = _receive_alone(alert, targets[index], user)
        except Exception as exc:
            outcomes[index] = _failed(alert, user, exc)
    return outcomes


def _receive_alone(alert: AlertIn, target, user: User) -> AlertOutcome:
    if target is None:
        return alert_receive(alert=alert, user=user)
    at = timezone.now()
    if alert.status == "resolved":
        return _resolve(alert, user, at)
    if isinstance(target, ValidationError):
        return _keep_unrouted(alert, user, at, reason=_reason(target))
    return _fire(alert, *target, user, at)


def _failed(alert: AlertIn, user: User, exc: Exception) -> AlertOutcome:
    # Kept and logged, never dropped (the alert's own writes were rolled back).
    log.exception("Alert %s could not be processed", alert.fingerprint, exc_info=exc)
    reason = f"Could not be processed ({type(exc).__name__}); route it by hand."
    return _keep_unrouted(alert, user, timezone.now(), reason=reason)


def _targets_of(alerts: list[AlertIn], user: User) -> list:
    """`resolve_target` for every alert of a delivery: one query for the assets they name,
    one for the clients named by the alerts whose asset is not found. Each entry is
    (client, asset) or the ValidationError saying what is unknown."""
    firing = [alert for alert in alerts if alert.status != "resolved"]
    assets = _find_assets({alert.asset for alert in firing if alert.asset}, user)
    wanted = {alert.client for alert in firing if alert.client and alert.asset not in assets}
    clients = _find_clients(wanted, user)
    targets = []
    for alert in alerts:
        asset = assets.get(alert.asset)
        if asset is not None:
            targets.append((asset.client, asset))
        elif clients.get(alert.client) is not None:
            targets.append((clients[alert.client], None))
        elif alert.asset:
            targets.append(
                ValidationError({"asset": f"No asset with RMM id or host name “{alert.asset}”."})
            )
        else:
            targets.append(
                ValidationError({"client": "Say which client (or asset) the alert is about."})
            )
    return targets


def _find_assets(references: set[str], user: User) -> dict[str, Asset]:
    """`_find_asset` for several references at once (one query)."""
    if not references:
        return {}
    upper = {reference.upper() for reference in references}
    candidates = list(
        Asset.objects.for_user(user)
        .annotate(hostname_upper=Upper("hostname"), name_upper=Upper("name"))
        .filter(
            Q(rmm_id__in=references) | Q(hostname_upper__in=upper) | Q(name_upper__in=upper),
            is_active=True,
        )
        .select_related("client")
        .order_by("pk")
    )
    found = {}
    for reference in references:
        key = reference.upper()
        ranked = [
            (rank, asset.pk, asset)
            for asset in candidates
            for rank, matches in enumerate(
                (
                    asset.rmm_id == reference,
                    asset.hostname_upper == key,
                    asset.name_upper == key,
                )
            )
            if matches
        ]
        if ranked:
            found[reference] = min(ranked, key=lambda item: item[:2])[2]
        elif candidates:
            # The database's idea of upper case differs from Python's for this reference.
            asset = _find_asset(reference, user)
            if asset is not None:
                found[reference] = asset
    return found


def _find_clients(references: set[str], user: User) -> dict[str, Client]:
    """`_find_client` for several references at once (one query)."""
    if not references:
        return {}
    ids = [int(reference) for reference in references if reference.isdigit()]
    clients = list(Client.objects.for_user(user).filter(Q(slug__in=references) | Q(pk__in=ids)))
    found = {}
    for reference in references:
        matching = [
            client
            for client in clients
            if client.slug == reference or (reference.isdigit() and client.pk == int(reference))
        ]
        if matching:
            found[reference] = min(matching, key=lambda client: (client.name, client.pk))
    return found


def _reason(exc: ValidationError) -> str:
    return "; ".join(message for messages in exc.message_dict.values() for message in messages)


def _fire(
    alert: AlertIn,
    client: Client,
    asset: Asset | None,
    user: User,
    at: datetime,
    group: "_AlertGroup | None" = None,
) -> AlertOutcome | None:
    """A firing alert about a client (and asset): a repeat, a new ticket, a reopened one. With
    `group`, the alert joins its delivery's group, which handles it with the others (and
    returns its outcome); otherwise it is handled alone, in its own transaction."""
    if group is not None:
        group.add(alert, client, asset)
        return None
    return _fire_alone(alert, client, asset, user, at)


@transaction.atomic
def _fire_alone(
    alert: AlertIn, client: Client, asset: Asset | None, user: User, at: datetime
) -> AlertOutcome:
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
    return services.ticket_open(
        client=client,
        asset=asset,
        subject=alert.summary[:200],
        description=_description(alert),
        impact=impact,
        urgency=urgency,
        source=TicketSource.ALERT,
        created_by=user if user.is_msp_staff else None,
        parent=parent,
        at=at,
    )


def _description(alert: AlertIn) -> str:
    lines = [f"{alert.source} alert, severity {alert.severity}, fingerprint {alert.fingerprint}."]
    lines += [f"- {key}: {value}" for key, value in sorted(alert.details.items())][:50]
    return "\n".join(lines)


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


# One delivery's firing alerts together -----------------------------------------------------

FINISHED_STATUSES = (TicketStatus.CLOSED, TicketStatus.CANCELLED)


@dataclass
class _Member:
    alert: AlertIn
    client: Client
    asset: Asset | None
    alert_id: int | None = None  # the open episode this group inserted
    storm: AlertStorm | None = None

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.client.pk, self.alert.source, self.alert.fingerprint)


class _AlertGroup:
    """The firing alerts of one delivery, each with a different fingerprint, handled by the
    rules of `_fire_alone` in a fixed number of statements (PostgreSQL):

    1. repeats of open alerts: one UPDATE counts them all (locking their rows in id order);
    2. the others' past episodes, read at once: an alert with none, or whose last ticket is
       closed, is a new episode that opens a ticket; any other (an open episode without an
       open ticket, a flap, a ticket merged since) is left to `_fire_alone`;
    3. new episodes: one INSERT of their rows (a concurrent delivery of the same alert that
       inserted first wins, and this one is left to `_fire_alone`, which repeats it);
    4. their clients locked at once (the lock `_storm_active` takes), their storms and recent
       alert tickets read: an alert under a storm opens as its child; where the new alerts
       could start a storm, they go through `_fire_alone` one at a time (within this
       transaction) until a storm takes the rest, so at most the threshold's number;
    5. the tickets opened by `tickets_open`, the episodes pointed at them and the storms'
       counts (one UPDATE each), the repeats noted on their tickets (one INSERT).

    `run` is all or nothing: if it fails, nothing of it is written and the caller handles each
    alert alone. The alerts it leaves (outcome None) are handled alone after it commits."""

    def __init__(self, user: User, at: datetime):
        self.user = user
        self.at = at
        self.members: list[_Member] = []
        self._keys: set[tuple[int, str, str]] = set()
        self.rules: AlertSettings | None = None
        self._storm_list: list[AlertStorm] = []

    def has(self, alert: AlertIn, client: Client) -> bool:
        return (client.pk, alert.source, alert.fingerprint) in self._keys

    def add(self, alert: AlertIn, client: Client, asset: Asset | None) -> None:
        member = _Member(alert, client, asset)
        self._keys.add(member.key)
        self.members.append(member)

    @transaction.atomic
    def run(self) -> list[AlertOutcome | None]:
        outcomes: dict[tuple, AlertOutcome] = {}
        events = []
        for member, (ticket_id, occurrences, flaps) in self._repeat():
            flapped = f", flap {flaps}" if flaps else ""
            detail = f"{member.alert.summary} (fired again: occurrence {occurrences}{flapped})"
            events.append(
                TimelineEvent(
                    ticket_id=ticket_id, kind=EventKind.ALERT, actor=None, at=self.at, detail=detail
                )
            )
            outcomes[member.key] = AlertOutcome(member.alert.fingerprint, "repeated", ticket_id)
        others = [member for member in self.members if member.key not in outcomes]
        opening, storm_prone = self._storms(self._claim(self._new_episodes(others)))
        for member in storm_prone:
            # One at a time until a storm takes them: the first of these may start one. Their
            # number is bounded by the storm threshold, whatever the size of the delivery.
            member.storm = self._covering(member)
            if member.storm is not None:
                opening.append(member)
                continue
            alert, client, asset = member.alert, member.client, member.asset
            outcomes[member.key] = _fire_alone(alert, client, asset, self.user, self.at)
            self._read_storms([client.pk])
        tickets = tickets_open(new=[self._new_ticket(member) for member in opening], at=self.at)
        _update_from_values(
            Alert,
            "ticket_id = sent.ticket_id",
            [(member.alert_id, ticket.pk) for member, ticket in zip(opening, tickets, strict=True)],
            ("ticket_id", "bigint"),
        )
        self._count_in_storms(opening)
        TimelineEvent.objects.bulk_create(events)
        for member, ticket in zip(opening, tickets, strict=True):
            outcomes[member.key] = AlertOutcome(member.alert.fingerprint, "opened", ticket.pk)
            if member.alert.severity == "critical" and member.asset is not None:
                row = Alert(pk=member.alert_id, asset=member.asset, ticket=ticket)
                _outages_open(member.alert, row, self.at)
        return [outcomes.get(member.key) for member in self.members]

    def _values(self, members: list[_Member]) -> tuple[str, list]:
        rows = ", ".join(["(%s::bigint, %s::text, %s::text)"] * len(members))
        return rows, [part for member in members for part in member.key]

    def _repeat(self) -> list[tuple[_Member, tuple[int, int, int]]]:
        """Step 1: the members that repeat an open alert on an open ticket, counted."""
        alerts, tickets = Alert._meta.db_table, Ticket._meta.db_table
        rows, params = self._values(self.members)
        statuses = ", ".join(["%s"] * len(OPEN_STATUSES))
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {alerts} AS counted
                SET occurrences = counted.occurrences + 1, last_seen_at = %s
                FROM (
                    SELECT open.id FROM {alerts} AS open
                    JOIN (VALUES {rows}) AS sent (client_id, source, fingerprint)
                      ON open.client_id = sent.client_id AND open.source = sent.source
                     AND open.fingerprint = sent.fingerprint
                    WHERE open.resolved_at IS NULL
                      AND open.ticket_id IN (SELECT id FROM {tickets}
                                             WHERE status IN ({statuses})
                                               AND merged_into_id IS NULL)
                    ORDER BY open.id
                    FOR UPDATE OF open
                ) AS due
                WHERE counted.id = due.id
                RETURNING counted.client_id, counted.source, counted.fingerprint,
                          counted.ticket_id, counted.occurrences, counted.flaps""",  # noqa: S608 (table names, not input)
                [self.at, *params, *OPEN_STATUSES],
            )
            found = {tuple(row[:3]): row[3:] for row in cursor.fetchall()}
        return [(member, found[member.key]) for member in self.members if member.key in found]

    def _new_episodes(self, members: list[_Member]) -> list[_Member]:
        """Step 2: the members whose alert has no open episode, and no past one but on a
        closed ticket that nothing was merged into (those open a ticket by the plain rules)."""
        if not members:
            return []
        alerts, tickets = Alert._meta.db_table, Ticket._meta.db_table
        rows, params = self._values(members)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT DISTINCT ON (episode.client_id, episode.source, episode.fingerprint)
                       episode.client_id, episode.source, episode.fingerprint,
                       episode.resolved_at IS NULL, ticket.status, ticket.merged_into_id
                FROM {alerts} AS episode
                JOIN (VALUES {rows}) AS sent (client_id, source, fingerprint)
                  ON episode.client_id = sent.client_id AND episode.source = sent.source
                 AND episode.fingerprint = sent.fingerprint
                LEFT JOIN {tickets} AS ticket ON ticket.id = episode.ticket_id
                WHERE episode.resolved_at IS NULL OR episode.ticket_id IS NOT NULL
                ORDER BY episode.client_id, episode.source, episode.fingerprint,
                         episode.resolved_at IS NULL DESC, episode.resolved_at DESC,
                         episode.id DESC""",  # noqa: S608 (table names, not input)
                params,
            )
            last = {tuple(row[:3]): row[3:] for row in cursor.fetchall()}
        fresh = []
        for member in members:
            episode = last.get(member.key)
            if episode is None:
                fresh.append(member)
                continue
            is_open, status, merged_into = episode
            if not is_open and status in FINISHED_STATUSES and merged_into is None:
                fresh.append(member)
        return fresh

    def _claim(self, members: list[_Member]) -> list[_Member]:
        """Step 3: insert the new episodes (in key order, as every delivery does, so that
        two deliveries never wait on each other); the members whose row went in."""
        if not members:
            return []
        members = sorted(members, key=lambda member: member.key)
        details = Alert._meta.get_field("details")
        values = []
        params = []
        for member in members:
            alert = member.alert
            values.append("(%s, %s, %s, %s, NULL, %s, %s, %s, 1, 0, %s, %s, NULL)")
            params += [
                alert.source,
                alert.fingerprint,
                member.client.pk,
                member.asset.pk if member.asset else None,
                alert.severity,
                alert.summary[:200],
                details.get_db_prep_save(alert.details, connection),
                self.at,
                self.at,
            ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {Alert._meta.db_table}
                (source, fingerprint, client_id, asset_id, ticket_id, severity, summary,
                 details, occurrences, flaps, first_seen_at, last_seen_at, resolved_at)
                VALUES {", ".join(values)}
                ON CONFLICT DO NOTHING
                RETURNING id, client_id, source, fingerprint""",  # noqa: S608 (table name, not input)
                params,
            )
            inserted = {tuple(row[1:]): row[0] for row in cursor.fetchall()}
        claimed = []
        for member in members:
            if member.key in inserted:
                member.alert_id = inserted[member.key]
                claimed.append(member)
        return claimed

    def _storms(self, members: list[_Member]) -> tuple[list[_Member], list[_Member]]:
        """Step 4: (the members that open a ticket together, those of clients where a storm
        may start, for `run` to open one at a time until a storm takes them)."""
        if not members:
            return [], []
        client_ids = sorted({member.client.pk for member in members})
        # The lock `_storm_active` takes, for all the clients at once, in key order.
        list(
            Client.objects.select_for_update()
            .filter(pk__in=client_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        self.rules = AlertSettings.current()
        self._read_storms(client_ids)
        recent = dict(
            Ticket.objects.filter(
                client_id__in=client_ids,
                source=TicketSource.ALERT,
                parent__isnull=True,
                status__in=OPEN_STATUSES,
                created_at__gte=self._since,
                alert_storm__isnull=True,
            )
            .values("client_id")
            .annotate(count=Count("pk"))
            .values_list("client_id", "count")
        )
        uncovered: dict[int, int] = {}
        for member in members:
            member.storm = self._covering(member)
            if member.storm is None:
                uncovered[member.client.pk] = uncovered.get(member.client.pk, 0) + 1
        # No storm can start where the client's alert tickets stay under the threshold even
        # with all of these (a site's count is never more than its client's).
        may_storm = {
            client_id
            for client_id, count in uncovered.items()
            if recent.get(client_id, 0) + count >= self.rules.storm_threshold
        }
        opening = [member for member in members if member.client.pk not in may_storm]
        prone = [member for member in members if member.client.pk in may_storm]
        return opening, prone

    @property
    def _since(self) -> datetime:
        return self.at - timedelta(minutes=self.rules.storm_window_minutes)

    def _read_storms(self, client_ids: list[int]) -> None:
        """The storms still taking alerts of these clients (read again after one starts)."""
        self._storm_list = [s for s in self._storm_list if s.client_id not in client_ids]
        self._storm_list += AlertStorm.objects.filter(
            client_id__in=client_ids,
            last_alert_at__gte=self._since,
            ticket__status__in=OPEN_STATUSES,
        ).select_related("ticket")
        self._storm_list.sort(key=lambda storm: (storm.last_alert_at, storm.pk), reverse=True)

    def _covering(self, member: _Member) -> AlertStorm | None:
        """As `_storm_active`: the latest storm of the alert's site or across its client."""
        site_id = member.asset.site_id if member.asset else None
        return next(
            (
                storm
                for storm in self._storm_list
                if storm.client_id == member.client.pk
                and (storm.site_id is None or (site_id is not None and storm.site_id == site_id))
            ),
            None,
        )

    def _new_ticket(self, member: _Member) -> NewTicket:
        alert = member.alert
        impact, urgency = SEVERITY_LEVELS[alert.severity]
        return NewTicket(
            client=member.client,
            asset=member.asset,
            subject=alert.summary[:200],
            description=_description(alert),
            impact=impact,
            urgency=urgency,
            source=TicketSource.ALERT,
            created_by=self.user if self.user.is_msp_staff else None,
            parent=member.storm.ticket if member.storm else None,
        )

    def _count_in_storms(self, opening: list[_Member]) -> None:
        """The storms that took alerts count them (their clients are locked): one UPDATE."""
        added: dict[int, int] = {}
        for member in opening:
            if member.storm is not None:
                added[member.storm.pk] = added.get(member.storm.pk, 0) + 1
        _update_from_values(
            AlertStorm,
            "alert_tickets = alert_tickets + sent.added, last_alert_at = %s",
            list(added.items()),
            ("added", "integer"),
            [self.at],
        )


def _update_from_values(model, assignments: str, rows: list, column, params=()) -> None:
    """One UPDATE of many rows of `model`, each by id with its own value (`column`: its name
    and SQL type): Django's bulk_update builds a CASE per row, slow to compile for many."""
    if not rows:
        return
    name, sql_type = column
    values = ", ".join([f"(%s::bigint, %s::{sql_type})"] * len(rows))
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} SET {assignments}
            FROM (VALUES {values}) AS sent (id, {name})
            WHERE {table}.id = sent.id""",  # noqa: S608 (our own names, not input)
            [*params, *(value for row in rows for value in row)],
        )
