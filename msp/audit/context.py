"""Who is acting, for the audit rows written meanwhile: one value per request, management
command or Celery task, kept in a ContextVar (so threads and nested scopes never mix)."""

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

# Where a change came from: the request's area, or "command:<name>" / "task:<name>".
SOURCE_API = "api"
SOURCE_ADMIN = "admin"
SOURCE_WORKSPACE = "workspace"
SOURCE_PORTAL = "portal"
SOURCE_WEB = "web"


@dataclass
class AuditContext:
    """The actor of the current scope. `request` is read when a row is written, not when the
    scope opens: the user signs in during the login request, and DRF authenticates inside the
    view (the token authentication fills `actor` and `token` itself)."""

    source: str
    request: object | None = None
    actor: object | None = None
    token: object | None = None
    remote_addr: str | None = None
    cid: str = field(default_factory=lambda: uuid.uuid4().hex)

    def current_actor(self):
        if self.actor is not None:
            return self.actor
        user = getattr(self.request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


_current: ContextVar[AuditContext | None] = ContextVar("msp_audit_context", default=None)


def audit_context() -> AuditContext | None:
    return _current.get()


@contextlib.contextmanager
def audit_scope(context: AuditContext) -> Iterator[AuditContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def audit_source(source: str):
    """A scope with no user: the system, named by its command or task."""
    return audit_scope(AuditContext(source=source))


def audit_actor_set(*, actor, token=None, source: str | None = None) -> None:
    """Name the actor of the current scope (the API's token authentication, after the
    middleware opened the request's scope). Outside any scope (a view called without the
    middleware) the value lasts as long as the current context."""
    context = _current.get()
    if context is None:
        context = AuditContext(source=source or SOURCE_API)
        _current.set(context)
    context.actor = actor
    context.token = token
    if source:
        context.source = source


def current_cid() -> str | None:
    """AUDITLOG_CID_GETTER: the rows of one request, command or task share a correlation id."""
    context = _current.get()
    return context.cid if context else None
