"""While the database is unreachable: 503 with Retry-After and a line in the log, not a 500 with
a traceback per request.

A stopped or hung server (msp/postgres/base.py turns a hang into an error within a second)
fails every request at its first query, in a view or in a middleware (session, user). Django
hands the exception to handler500 (msp.views.server_error), which asks here whether it is an
outage. Logging is once when the outage starts in this process and then a count once a minute,
so a minute of outage under load writes a few lines, not tens of thousands.
"""

import logging
import threading
import time

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger("msp.outage")

# Clients (browsers, monitoring tools, API scripts) may try again after this many seconds.
RETRY_AFTER_SECONDS = 15
LOG_EVERY_SECONDS = 60


def is_database_outage(exc: BaseException | None) -> bool:
    """A failure to reach the database, as opposed to an error in a query: connection errors
    carry no SQLSTATE code, while a deadlock or a statement timeout do (those stay 500s with
    their traceback, since they point at a query to fix)."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    return getattr(exc.__cause__, "pgcode", None) is None


class _OutageLog:
    """One line when the outage starts in this process, then one a minute while it lasts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_line_at: float | None = None
        self._unlogged = 0

    def record(self, exc: BaseException, path: str) -> None:
        with self._lock:
            now = time.monotonic()
            since = None if self._last_line_at is None else now - self._last_line_at
            if since is not None and since < LOG_EVERY_SECONDS:
                self._unlogged += 1
                return
            # Over two minutes without a failure: this is a new outage.
            new_outage = since is None or since > 2 * LOG_EVERY_SECONDS
            count, self._unlogged, self._last_line_at = self._unlogged, 0, now
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if new_outage:
            logger.error("Database unreachable, answering 503: %s (%s)", reason, path)
        else:
            logger.error(
                "Database still unreachable: %s; %d more requests answered 503", reason, count
            )


outage_log = _OutageLog()


def outage_response(request, exc: BaseException, *, api: bool) -> HttpResponse:
    outage_log.record(exc, request.path)
    message = "The service is briefly unavailable (database unreachable); try again shortly."
    if api:
        response = JsonResponse({"message": message, "errors": {}}, status=503)
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Django logs every 5xx with its traceback unless told it is done.
    response._has_been_logged = True
    return response
