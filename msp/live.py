"""Live pages by conditional polling, and who else is on a page.

Pages that must follow changes made elsewhere (the ticket page, the queues) poll a fragment
every `LIVE_POLL_SECONDS` with htmx. Gunicorn's sync workers cannot hold hundreds of
server-sent-event connections cheaply; a poll that is answered from one small indexed query
with "304 Not Modified" costs a few milliseconds instead. So a polled view:

1. computes a *fingerprint* of what its fragment shows (for a ticket: its `updated_at` and its
   latest timeline entry; for a queue: the count and latest `updated_at` of its tickets), in one
   query, with `fingerprint(...)` / `queryset_fingerprint(...)`;
2. answers `conditional(request, etag, render)`: 304 when the browser's `If-None-Match` still
   matches, else the rendered fragment carrying the new `ETag`.

The browser keeps the ETag of the last fragment it was given (htmx sends `If-None-Match` from
`static/js/live.js`), and htmx swaps nothing on a 304.

Presence ("Alex is viewing / replying") is a heartbeat kept in the cache with a short expiry:
one cache entry per object (e.g. per ticket), holding each user's state and when it lapses.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils import timezone

DEFAULT_POLL_SECONDS = 10


def poll_seconds() -> int:
    """How often a live page asks whether its fragment changed (setting LIVE_POLL_SECONDS)."""
    return max(1, int(getattr(settings, "LIVE_POLL_SECONDS", DEFAULT_POLL_SECONDS)))


def presence_seconds() -> int:
    """How long a heartbeat counts: three missed polls, and never under 20 seconds, so a slow
    poll or a busy tab does not make someone flicker out of the list."""
    default = max(20, 3 * poll_seconds())
    return max(1, int(getattr(settings, "LIVE_PRESENCE_SECONDS", default)))


# ---------------------------------------------------------------------------- fingerprints


def fingerprint(*parts: object) -> str:
    """A short, stable digest of the values a fragment depends on; an ETag value (quoted)."""
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return '"' + hashlib.blake2b(text.encode(), digest_size=10).hexdigest() + '"'


def queryset_fingerprint(queryset: QuerySet, field: str = "updated_at") -> tuple[int, object]:
    """(row count, latest `field`) of a queryset, in one aggregate query without its ordering:
    a row added, removed or changed (which moves `updated_at`) changes one of the two."""
    row = queryset.order_by().aggregate(rows=Count("pk"), latest=Max(field))
    return row["rows"], row["latest"]


# ---------------------------------------------------------------------- conditional answers


def _etags(header: str) -> set[str]:
    # RFC 9110: a list of entity tags; weak comparison, so "W/" is dropped.
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def etag_matches(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    tags = _etags(header)
    return "*" in tags or etag in tags


def with_etag(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    # The browser may keep it, but must ask each time; never a shared cache (it is per user).
    response["Cache-Control"] = "private, no-cache"
    return response


def not_modified(etag: str) -> HttpResponse:
    return with_etag(HttpResponseNotModified(), etag)


def conditional(
    request: HttpRequest, etag: str, render: Callable[[], HttpResponse]
) -> HttpResponse:
    """304 if the browser already has the fragment of `etag`, else `render()` with the ETag."""
    if etag_matches(request, etag):
        return not_modified(etag)
    return with_etag(render(), etag)


# -------------------------------------------------------------------------------- presence

VIEWING = "viewing"
TYPING = "typing"
PRESENCE_STATES = (VIEWING, TYPING)


@dataclass(frozen=True)
class Presence:
    user_id: int
    name: str
    state: str  # VIEWING or TYPING
    until: float  # POSIX seconds after which the heartbeat no longer counts

    @property
    def verb(self) -> str:
        return "replying" if self.state == TYPING else "viewing"


def _presence_key(kind: str, object_id: int) -> str:
    return f"live:presence:{kind}:{object_id}"


def _now(now: float | None) -> float:
    return timezone.now().timestamp() if now is None else now


def _current(entries: dict, at: float) -> dict:
    return {uid: entry for uid, entry in entries.items() if entry[2] > at}


def presence_beat(
    *, kind: str, object_id: int, user_id: int, name: str, state: str, now: float | None = None
) -> None:
    """Record that a user is on an object's page (viewing, or typing a reply) for the next
    `presence_seconds()`. Read-modify-write without a lock: two beats at the same instant may
    lose one, which the next beat (a poll later) puts back."""
    if state not in PRESENCE_STATES:
        state = VIEWING
    at = _now(now)
    ttl = presence_seconds()
    key = _presence_key(kind, object_id)
    entries = _current(cache.get(key) or {}, at)
    entries[user_id] = (name, state, at + ttl)
    cache.set(key, entries, timeout=ttl)


def presence_leave(*, kind: str, object_id: int, user_id: int, now: float | None = None) -> None:
    key = _presence_key(kind, object_id)
    entries = _current(cache.get(key) or {}, _now(now))
    if entries.pop(user_id, None) is not None:
        cache.set(key, entries, timeout=presence_seconds())


def presence_of(
    *, kind: str, object_id: int, exclude_user_id: int | None = None, now: float | None = None
) -> list[Presence]:
    """Who else is on the page now, typing first, then by name."""
    entries = _current(cache.get(_presence_key(kind, object_id)) or {}, _now(now))
    people = [
        Presence(user_id=uid, name=name, state=state, until=until)
        for uid, (name, state, until) in entries.items()
        if uid != exclude_user_id
    ]
    return sorted(people, key=lambda p: (p.state != TYPING, p.name.lower(), p.user_id))
