"""Every write about outbound webhooks: endpoints and their secrets, emitting events (rows of
the delivery outbox, in the caller's transaction), delivering, retrying and replaying them."""

import hashlib
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from msp.choices import OutboxChannel, UserRole
from msp.models import (
    Client,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSettings,
)
from msp.services import outbox_enqueue_many
from msp.webhooks import signing
from msp.webhooks.choices import (
    CLIENT_EVENT_TYPES,
    WebhookDeliveryStatus,
    WebhookEventType,
)
from msp.webhooks.targets import TargetRefused, networks_parse, post, target_check

log = logging.getLogger(__name__)

PAYLOAD_VERSION = 1
DELIVER_TASK = "msp.webhook_deliver"
TASK_CHUNK = 50
# Retries: 30 s, 1 min, 2 min... doubling up to 12 h apart; 16 attempts span about 3 days.
MAX_ATTEMPTS = 16
MAX_DELAY = timedelta(hours=12)
# An endpoint that has failed every request for this long is disabled (its admins are told).
DISABLE_AFTER = timedelta(days=3)
CLAIM_TIMEOUT = timedelta(minutes=2)
# A worker whose clock is a little behind the web's still takes a delivery queued just now.
CLOCK_SKEW = timedelta(seconds=5)
ROTATION_OVERLAP = timedelta(hours=24)


def retry_delay(attempts: int) -> timedelta:
    return min(timedelta(seconds=30 * 2 ** (attempts - 1)), MAX_DELAY)


# Which endpoints want what, cached --------------------------------------------------------
#
# Every ticket write asks whether anyone subscribes to its events. The answer is cached so
# that a write with no subscriber costs no query (most installs have none, and the SLA sweep
# writes in batches). Endpoint and settings writes forget it: they delete the cache entry,
# which every process sees when the cache is shared (Redis, production), and touch a stamp
# file beside the database's other files, which the processes of one machine see whatever
# the cache (the embedded setup's local memory cannot hear other processes). An entry another
# process wrote is also read again after SHARED_ROUTES_SECONDS, should a read that raced an
# endpoint's change on another machine have cached the old answer. Nothing expires by the
# clock within a process, so tests that travel in time or count queries see no stray read.

ROUTES_KEY = "msp.webhooks.routes"
SHARED_ROUTES_SECONDS = 300


def _stamp_path() -> Path:
    # One stamp per database: the processes that share it share its endpoints.
    database = str(connection.settings_dict["NAME"])
    digest = hashlib.sha256(database.encode()).hexdigest()[:16]
    return Path(settings.VAR_DIR) / f"webhook-routes-{digest}.stamp"


def _stamp() -> int:
    try:
        return _stamp_path().stat().st_mtime_ns
    except OSError:
        return 0


def _stamp_touch() -> None:
    path = _stamp_path()
    new = max(time.time_ns(), _stamp() + 1)  # a new value even within the clock's resolution
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        os.utime(path, ns=(new, new))
    except OSError:
        pass  # a read-only disk: the cache entry's deletion still reaches a shared cache


@dataclass(frozen=True)
class Route:
    endpoint_id: int
    event_types: frozenset[str]
    client_id: int | None
    owned_by_client: bool

    def wants(self, event_type: str, client_id: int | None) -> bool:
        if event_type not in self.event_types:
            return False
        if self.owned_by_client and event_type not in CLIENT_EVENT_TYPES:
            return False
        # A client's endpoint hears only that client's events, never events of no client.
        return self.client_id is None or self.client_id == client_id


def _routes() -> tuple["Route", ...]:
    stamp = _stamp()  # before reading: a change made during the read leaves it stale
    try:
        cached = cache.get(ROUTES_KEY)
    except Exception:
        # The cache (Redis) is down: read the endpoints, so that no change or alert fails
        # for want of a cache (as the API throttle does without it).
        log.warning("Webhook routes read without the cache: it is unreachable", exc_info=True)
        return _routes_read()
    if cached is not None:
        routes, cached_stamp, pid, written_at = cached
        mine = pid == os.getpid()
        if cached_stamp == stamp and (mine or time.time() - written_at < SHARED_ROUTES_SECONDS):
            return routes
    routes = _routes_read()
    try:
        cache.set(ROUTES_KEY, (routes, stamp, os.getpid(), time.time()), timeout=None)
    except Exception:
        log.warning("Webhook routes not cached: the cache is unreachable", exc_info=True)
    return routes


def _routes_read() -> tuple[Route, ...]:
    endpoints = WebhookEndpoint.objects.live().filter(is_active=True)
    if not WebhookSettings.current().clients_may_subscribe:
        endpoints = endpoints.filter(owned_by_client=False)
    return tuple(
        Route(pk, frozenset(types), client_id, owned)
        for pk, types, client_id, owned in endpoints.values_list(
            "pk", "event_types", "client_id", "owned_by_client"
        )
    )


def webhook_routes_forget() -> None:
    """Drop the cached routes now and once the caller's transaction commits."""

    def forget() -> None:
        cache.delete(ROUTES_KEY)
        _stamp_touch()

    forget()
    transaction.on_commit(forget)


def webhook_routes_assume_none() -> None:
    """Cache "no endpoint" (tests: what the database holds once a test's rows are rolled
    back), so that the next test's writes do not read the endpoints."""
    cache.set(ROUTES_KEY, ((), _stamp(), os.getpid(), time.time()), timeout=None)


def webhook_wanted_types() -> frozenset[str]:
    """The event types some active endpoint subscribes to: emitters skip building payloads
    nobody wants. No query while the routes are cached."""
    return frozenset().union(*(route.event_types for route in _routes()))


# Emitting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookEvent:
    """One event to send to the endpoints that subscribe to it. A `key` makes its id stable,
    so that emitting the same fact twice is absorbed by the (endpoint, event id) constraint."""

    type: str
    data: dict
    client_id: int | None = None
    at: datetime = field(default_factory=timezone.now)
    key: str = ""
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            stable = self.key and hashlib.sha256(self.key.encode()).hexdigest()[:32]
            object.__setattr__(self, "id", "evt_" + (stable or uuid.uuid4().hex))

    def body(self) -> str:
        """The JSON that is signed and sent, the same bytes on every attempt."""
        payload = {
            "type": self.type,
            "version": PAYLOAD_VERSION,
            "id": self.id,
            "timestamp": self.at.isoformat(),
            "data": self.data,
        }
        return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"))


def webhook_emit(
    *, type: str, data: dict, client_id: int | None = None, at=None, key: str = ""
) -> int:
    """Queue one event for every active endpoint subscribed to it, in the caller's
    transaction; delivered after commit. Returns the number of deliveries written."""
    return webhook_emit_many([WebhookEvent(type, data, client_id, at or timezone.now(), key)])


def webhook_emit_many(events: list[WebhookEvent]) -> int:
    """webhook_emit for a batch: no query when no endpoint wants any of them (cached routes);
    otherwise one read of the endpoints concerned and one insert, however many there are."""
    routes = _routes()
    wanted = {
        route.endpoint_id
        for event in events
        for route in routes
        if route.wants(event.type, event.client_id)
    }
    if not wanted:
        return 0
    # Read again, not trusted from the cache: an endpoint may have been disabled meanwhile.
    fresh = [
        Route(pk, frozenset(types), client_id, owned)
        for pk, types, client_id, owned in WebhookEndpoint.objects.live()
        .filter(pk__in=wanted, is_active=True)
        .values_list("pk", "event_types", "client_id", "owned_by_client")
    ]
    rows = [
        WebhookDelivery(
            endpoint_id=route.endpoint_id,
            event_id=event.id,
            event_type=event.type,
            client_id=event.client_id,
            body=event.body(),
            next_attempt_at=event.at,
        )
        for event in events
        for route in fresh
        if route.wants(event.type, event.client_id)
    ]
    if not rows:
        return 0
    if any(event.key for event in events):
        # A keyed event may have been emitted before: skip those rows. Rows skipped this way
        # get no id back, so the new ones are found by a read.
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        ids = list(
            WebhookDelivery.objects.filter(
                event_id__in={row.event_id for row in rows},
                status=WebhookDeliveryStatus.PENDING,
                attempts=0,
            ).values_list("pk", flat=True)
        )
    else:
        ids = [row.pk for row in WebhookDelivery.objects.bulk_create(rows)]
    _deliver_after_commit(ids)
    return len(ids)


def _deliver_after_commit(delivery_ids: list[int]) -> None:
    if not delivery_ids:
        return

    def queue() -> None:
        for start in range(0, len(delivery_ids), TASK_CHUNK):
            current_app.send_task(DELIVER_TASK, args=delivery_ids[start : start + TASK_CHUNK])

    # Robust: with the broker down the change still commits; the periodic retry delivers.
    transaction.on_commit(queue, robust=True)


# Delivering -------------------------------------------------------------------------------


def webhook_deliver(*, delivery_id: int, now: datetime | None = None) -> str | None:
    """Send one pending delivery (one attempt) and record the answer, or when to try again.
    Claimed by one conditional UPDATE, so two workers never send the same attempt; a worker
    dying mid-request leaves a claim that expires (then it is sent again: at least once)."""
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        # Not one held back because its endpoint does not answer (see _hold_back).
        pk=delivery_id,
        status=WebhookDeliveryStatus.PENDING,
        next_attempt_at__lte=now + CLOCK_SKEW,
    ).update(status=WebhookDeliveryStatus.SENDING, next_attempt_at=now + CLAIM_TIMEOUT)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    policy = WebhookSettings.current()
    refusal = _refusal(delivery, endpoint, policy)
    if refusal:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDeliveryStatus.FAILED, last_error=refusal
        )
        return WebhookDeliveryStatus.FAILED
    try:
        target = target_check(
            endpoint.url,
            allowed=networks_parse(policy.allowed_networks),
            allow_http=policy.allow_http,
        )
    except (TargetRefused, ValueError) as exc:
        response = None
        error = f"Refused: {exc}"[:500]
    else:
        timestamp = int(now.timestamp())
        headers = signing.signed_headers(
            secrets_in_force=endpoint_secrets(endpoint, now=now),
            msg_id=delivery.event_id,
            timestamp=timestamp,
            body=delivery.body,
        )
        response = post(target, body=delivery.body, headers=headers)
        error = response.error or ("" if response.ok else f"HTTP {response.status}")
    return _record(delivery, endpoint, response, error, now)


def _refusal(delivery, endpoint: WebhookEndpoint, policy: WebhookSettings) -> str:
    """Why a delivery is not sent at all (not an attempt), or ""."""
    if endpoint.deleted_at is not None:
        return "The endpoint was unsubscribed."
    # A test event goes to a disabled endpoint too: to check a receiver before enabling it.
    if not endpoint.is_active and delivery.event_type != WebhookEventType.TEST:
        return "The endpoint is disabled."
    if endpoint.owned_by_client and not policy.clients_may_subscribe:
        return "Webhooks are no longer offered to clients."
    return ""


def endpoint_secrets(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during rotation."""
    in_force = [endpoint.secret]
    if endpoint.previous_secret and (
        endpoint.previous_secret_until and endpoint.previous_secret_until > now
    ):
        in_force.append(endpoint.previous_secret)
    return in_force


@transaction.atomic
def _record(delivery, endpoint, response, error: str, now: datetime) -> str:
    attempts = delivery.attempts + 1
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=attempts,
        at=now,
        response_status=response.status if response else None,
        response_excerpt=response.excerpt if response else "",
        duration_ms=response.duration_ms if response else 0,
        error=error,
    )
    update = {
        "attempts": attempts,
        "last_response_status": response.status if response else None,
        "last_error": error,
    }
    if response is not None and response.ok:
        update.update(status=WebhookDeliveryStatus.DELIVERED, delivered_at=now)
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
            failing_since=None
        )
    else:
        if attempts >= MAX_ATTEMPTS:
            update["status"] = WebhookDeliveryStatus.FAILED
        else:
            update.update(
                status=WebhookDeliveryStatus.PENDING,
                next_attempt_at=now + retry_delay(attempts),
            )
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now
        )
        if response is None or response.status is None:
            _hold_back(endpoint.pk, delivery.pk, update.get("next_attempt_at", now))
        _disable_if_failing(endpoint.pk, now)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**update)
    return update["status"]


def _hold_back(endpoint_id: int, delivery_id: int, until: datetime) -> None:
    """An endpoint that did not answer at all (refused, unreachable, timed out) is not tried
    again for its other deliveries before this one's next attempt: a dead receiver costs one
    timeout per back-off step, not one per pending delivery. Held back, they spend no attempt."""
    WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id, status=WebhookDeliveryStatus.PENDING, next_attempt_at__lt=until
    ).exclude(pk=delivery_id).update(next_attempt_at=until)


def _disable_if_failing(endpoint_id: int, now: datetime) -> None:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    if not endpoint.is_active or endpoint.failing_since is None:
        return
    if now - endpoint.failing_since < DISABLE_AFTER:
        return
    endpoint.is_active = False
    endpoint.disabled_reason = (
        f"Disabled automatically on {now:%Y-%m-%d %H:%M} UTC: every delivery failed since "
        f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC."
    )
    endpoint.save(update_fields=["is_active", "disabled_reason", "updated_at"])
    webhook_routes_forget()
    url = reverse("workspace:webhook-detail", args=[endpoint.pk])
    recipients = list(User.objects.filter(role=UserRole.ADMIN, is_active=True))
    if endpoint.owned_by_client and endpoint.created_by_id:
        recipients += [user for user in [endpoint.created_by] if user.is_active]
    outbox_enqueue_many(
        [
            {
                "key": f"webhook-disabled:{endpoint.pk}:{endpoint.failing_since.isoformat()}"
                f":{user.pk}",
                "channel": OutboxChannel.EMAIL,
                "recipient": user,
                "subject": f"Webhook endpoint disabled: {endpoint}",
                "body": (
                    f"{endpoint.disabled_reason}\n\nEndpoint: {endpoint.url}\n"
                    "Fix the receiver, enable the endpoint again and replay the deliveries "
                    "it missed from its delivery log.\n"
                ),
                "url": url,
            }
            for user in recipients
        ]
    )


def webhook_retry_due(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    """The ids of deliveries due for another attempt (after handing back the claims of
    workers that died), oldest due first; the caller sends them."""
    now = now or timezone.now()
    WebhookDelivery.objects.filter(
        status=WebhookDeliveryStatus.SENDING, next_attempt_at__lte=now
    ).update(status=WebhookDeliveryStatus.PENDING)
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


# Delivered rows (with their attempts) are kept this long for the log and for replays.
KEEP_DELIVERED = timedelta(days=30)


def webhook_deliveries_prune(*, now: datetime | None = None, limit: int = 5000) -> int:
    """Delete delivered and failed deliveries older than KEEP_DELIVERED, oldest first, at
    most `limit` per call (the periodic task calls it again next time)."""
    cutoff = (now or timezone.now()) - KEEP_DELIVERED
    old = list(
        WebhookDelivery.objects.filter(
            created_at__lt=cutoff,
            status__in=[WebhookDeliveryStatus.DELIVERED, WebhookDeliveryStatus.FAILED],
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    WebhookDelivery.objects.filter(pk__in=old).delete()
    return len(old)


@transaction.atomic
def webhook_replay(*, deliveries, now: datetime | None = None) -> int:
    """Send deliveries again (delivered or failed alike), with the same event id, so that a
    receiver that processed one already can tell. Each gets a fresh attempt budget."""
    now = now or timezone.now()
    ids = list(
        deliveries.exclude(status=WebhookDeliveryStatus.SENDING).values_list("pk", flat=True)
    )
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=WebhookDeliveryStatus.PENDING, attempts=0, next_attempt_at=now, delivered_at=None
    )
    _deliver_after_commit(ids)
    return len(ids)


def webhook_replay_range(
    *, endpoint: WebhookEndpoint, start: datetime, end: datetime, failed_only: bool = False
) -> int:
    """Replay an endpoint's deliveries of events emitted in [start, end)."""
    if end <= start:
        raise ValidationError({"end": "The end must be after the start."})
    deliveries = endpoint.deliveries.filter(created_at__gte=start, created_at__lt=end)
    if failed_only:
        deliveries = deliveries.filter(status=WebhookDeliveryStatus.FAILED)
    return webhook_replay(deliveries=deliveries)


@transaction.atomic
def webhook_test_send(*, endpoint: WebhookEndpoint, actor: User) -> WebhookDelivery:
    """A "webhook.test" event to this endpoint alone, whatever it subscribes to."""
    event = WebhookEvent(
        WebhookEventType.TEST,
        {"endpoint_id": endpoint.pk, "message": "A test event, sent from the PSA."},
        endpoint.client_id,
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=event.id,
        event_type=event.type,
        client_id=endpoint.client_id,
        body=event.body(),
        next_attempt_at=event.at,
    )
    _deliver_after_commit([delivery.pk])
    return delivery


# Endpoints and settings -------------------------------------------------------------------


def _check_target(url: str) -> None:
    policy = WebhookSettings.current()
    try:
        target_check(
            url, allowed=networks_parse(policy.allowed_networks), allow_http=policy.allow_http
        )
    except (TargetRefused, ValueError) as exc:
        raise ValidationError({"url": str(exc)}) from None


def _check_types(event_types: list[str], *, owned_by_client: bool) -> list[str]:
    allowed = CLIENT_EVENT_TYPES if owned_by_client else set(WebhookEventType.values)
    allowed = set(allowed) - {WebhookEventType.TEST}
    unknown = [value for value in event_types if value not in allowed]
    if unknown or not event_types:
        raise ValidationError(
            {"event_types": f"Choose event types among: {', '.join(sorted(allowed))}."}
        )
    return sorted(set(event_types))


@transaction.atomic
def webhook_endpoint_create(
    *,
    actor: User,
    url: str,
    event_types: list[str],
    description: str = "",
    client: Client | None = None,
    is_active: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """Subscribe an endpoint. An administrator's may be for every client or one; a client
    user's (if the MSP allows it) is for their own client. Returns the endpoint and its
    secret (shown once to the person, readable later by administrators)."""
    owned_by_client = actor.role == UserRole.CLIENT
    if owned_by_client:
        if not WebhookSettings.current().clients_may_subscribe:
            raise ValidationError("Your service provider does not offer webhooks to clients.")
        client = actor.client
    elif actor.role != UserRole.ADMIN:
        raise ValidationError("Only administrators manage webhooks.")
    _check_target(url)
    endpoint = WebhookEndpoint(
        url=url,
        description=description.strip(),
        event_types=_check_types(event_types, owned_by_client=owned_by_client),
        client=client,
        owned_by_client=owned_by_client,
        is_active=is_active,
        secret=signing.secret_generate(),
        created_by=actor,
    )
    endpoint.full_clean()
    endpoint.save()
    webhook_routes_forget()
    return endpoint, endpoint.secret


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, **changes) -> WebhookEndpoint:
    """Change url, description, event_types, client (not for a client's own) or is_active.
    Enabling an endpoint again clears its failure record."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if "url" in changes and changes["url"] != endpoint.url:
        _check_target(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = _check_types(
            changes["event_types"], owned_by_client=endpoint.owned_by_client
        )
    if endpoint.owned_by_client:
        changes.pop("client", None)
    if changes.get("is_active") and not endpoint.is_active:
        endpoint.failing_since, endpoint.disabled_reason = None, ""
    for name, value in changes.items():
        setattr(endpoint, name, value.strip() if name == "description" else value)
    endpoint.full_clean()
    endpoint.save()
    webhook_routes_forget()
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Unsubscribe: nothing more is sent (pending deliveries fail as "disabled"); the row and
    its log stay, out of every list."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.is_active, endpoint.deleted_at = False, timezone.now()
    endpoint.save(update_fields=["is_active", "deleted_at", "updated_at"])  # audited as a change
    webhook_routes_forget()


@transaction.atomic
def webhook_secret_rotate(
    *, endpoint: WebhookEndpoint, overlap: timedelta = ROTATION_OVERLAP, now=None
) -> str:
    """A new secret; the old one keeps signing (a second signature) for `overlap`, so that
    receivers can switch without losing a delivery. Returns the new secret."""
    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = now + overlap if overlap else None
    endpoint.secret = signing.secret_generate()
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_until", "updated_at"]
    )
    return endpoint.secret


@transaction.atomic
def webhook_settings_save(
    *, allowed_networks: str, allow_http: bool, clients_may_subscribe: bool
) -> WebhookSettings:
    try:
        networks_parse(allowed_networks)
    except ValueError as exc:
        raise ValidationError({"allowed_networks": str(exc)}) from None
    policy, _ = WebhookSettings.objects.update_or_create(
        pk=1,
        defaults={
            "allowed_networks": allowed_networks.strip(),
            "allow_http": allow_http,
            "clients_may_subscribe": clients_may_subscribe,
        },
    )
    webhook_routes_forget()
    return policy
