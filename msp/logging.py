"""Logs an operator can follow: one line per record, plain text or JSON (LOG_FORMAT), each
carrying the request id, user, client and ticket where known.

The request id is the audit trail's correlation id (msp.audit.context): the rows a request
writes, its log lines, its X-Request-ID response header (which gunicorn's access log prints)
and the lines of the Celery tasks it queued all share it. A line carries no request body, no
query string and no secret from the URL: only the context fields, the message and, for an
error, its traceback; objects handed to a logger (Django's request, Celery's task arguments)
are left out."""

import contextlib
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime

from celery import current_task
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import SimpleLazyObject, empty
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

from msp.audit.context import audit_context

LOG_FORMATS = ("plain", "json")
REQUEST_ID_HEADER = "X-Request-ID"
# The Celery message header that carries the request id into the tasks a request queues.
TASK_REQUEST_ID_HEADER = "x_request_id"
# A request id from outside is taken only in this shape: no spaces, quotes or line breaks
# that could forge a log line, and short enough for the audit rows' cid column. nginx's
# $request_id (32 hex digits) and a UUID fit.
_WELL_FORMED_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")
# URL parts never written to a log: password reset and satisfaction-survey links carry their
# credential in the path.
_SECRET_URL_KWARGS = re.compile(r"token|secret|key|password", re.IGNORECASE)
_TICKET_IN_PATH = re.compile(r"/tickets/(\d+)(?:/|$)")

request_log = logging.getLogger("msp.request")


def request_id_accepted(value: object) -> str | None:
    """The value when it is a well-formed request id, else None."""
    if isinstance(value, str) and _WELL_FORMED_REQUEST_ID.fullmatch(value):
        return value
    return None


def request_id_new() -> str:
    return uuid.uuid4().hex


def request_id_for(request) -> str:
    """The id of this request: the one a trusted reverse proxy gave (LOG_TRUST_REQUEST_ID)
    when well-formed, else a new one. A client's own header is ignored unless trusted."""
    from django.conf import settings

    if settings.LOG_TRUST_REQUEST_ID:
        given = request_id_accepted(request.headers.get(REQUEST_ID_HEADER))
        if given:
            return given
    return request_id_new()


# Fields a view or task adds to its scope's lines (ticket_id, client_id).
_fields: ContextVar[dict | None] = ContextVar("msp_log_fields", default=None)


@contextlib.contextmanager
def log_fields(**fields) -> Iterator[None]:
    """Add fields to every line logged in this scope (None values are left out)."""
    merged = {**(_fields.get() or {}), **{k: v for k, v in fields.items() if v is not None}}
    token = _fields.set(merged)
    try:
        yield
    finally:
        _fields.reset(token)


def _signed_in_user(context):
    """The scope's user, without a query: the API's token authentication names it, and a
    session user counts once the request has loaded it (a log line must not hit the database,
    which may be what is failing)."""
    if context.actor is not None:
        return context.actor
    user = getattr(context.request, "user", None)
    if isinstance(user, SimpleLazyObject):
        if user._wrapped is empty:
            return None
        user = user._wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


def _task_request_id(task) -> str | None:
    return request_id_accepted(task.request.get(TASK_REQUEST_ID_HEADER))


class LogContextFilter(logging.Filter):
    """Puts request_id, user_id, client_id, ticket_id and, on a worker, task and task_id on
    every record a handler emits, from memory only (no query: the database may be down)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = record.user_id = record.client_id = record.ticket_id = None
        context = audit_context()
        if context is not None:
            record.request_id = context.cid
            user = _signed_in_user(context)
            if user is not None:
                record.user_id = user.pk
                record.client_id = getattr(user, "client_id", None)
        for name, value in (_fields.get() or {}).items():
            setattr(record, name, value)
        task = current_task._get_current_object()
        if task is not None:
            record.task = task.name
            record.task_id = task.request.id
            # Celery's own lines after a run (succeeded, failed) fall outside the task's scope.
            record.request_id = record.request_id or _task_request_id(task)
        return True


class PlainFormatter(logging.Formatter):
    """Development's lines: time, level, logger, request id (or "-") and message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().format(record)


_SCALARS = (str, int, float, bool, datetime)


class JsonFormatter(_LibraryJsonFormatter):
    """One JSON object per line: time (UTC), level, logger, message, the context fields,
    extras given as plain values, and the traceback of an error as exc_info."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )

    def process_log_record(self, log_data: dict) -> dict:
        # Objects given as extras (Django's request with its query string, Celery's dict of
        # task arguments) are dropped rather than turned into text.
        kept = {"time": log_data.pop("time", None)}
        kept.update(log_data)
        return {key: value for key, value in kept.items() if isinstance(value, _SCALARS)}


def path_for_log(request) -> str:
    """The request's path with URL secrets (a reset or survey token) masked, without its
    query string."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is not None:
        for name, value in match.kwargs.items():
            if _SECRET_URL_KWARGS.search(name) and isinstance(value, str) and value:
                path = path.replace(value, "[redacted]")
    return path


def _outage_answer(response) -> bool:
    # While the database is unreachable every request gets a 503 with Retry-After; msp.outage
    # logs those once a minute with their count, so that an outage does not flood the log.
    return response.status_code == 503 and response.has_header("Retry-After")


class RequestLogMiddleware:
    """One line per request on the "msp.request" logger (INFO, on with LOG_REQUESTS): method,
    path, status and duration, inside the request's scope so it carries the request id, user
    and client; the ticket's id when the URL names one (workspace, portal and API). With it on,
    gunicorn's access log says the same again and may be turned off."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ticket = _TICKET_IN_PATH.search(request.path_info)
        started = time.monotonic()
        with log_fields(ticket_id=int(ticket.group(1)) if ticket else None):
            response = self.get_response(request)
            if request_log.isEnabledFor(logging.INFO) and not _outage_answer(response):
                path = path_for_log(request)
                request_log.info(
                    "%s %s %s",
                    request.method,
                    path,
                    response.status_code,
                    extra={
                        "method": request.method,
                        "path": path,
                        "status": response.status_code,
                        "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    },
                )
        return response


def logging_settings(*, log_format: str, level: str, requests: bool) -> dict:
    """Django's LOGGING: every record to stderr through the context filter, in `log_format`;
    "msp.request" lines at INFO when `requests`."""
    if log_format not in LOG_FORMATS:
        raise ImproperlyConfigured(
            f"Environment variable LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, "
            f"not {log_format!r}."
        )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "msp.logging.LogContextFilter"}},
        "formatters": {
            "plain": {"()": "msp.logging.PlainFormatter"},
            "json": {"()": "msp.logging.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "msp.request": {"level": "INFO" if requests else "WARNING"},
            "axes": {"level": "WARNING"},
            # WeasyPrint and fontTools narrate every PDF (and warn of pygal's repeated ids).
            "weasyprint": {"level": "ERROR"},
            "fontTools": {"level": "ERROR"},
        },
    }
