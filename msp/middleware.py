"""Request middleware of the project."""

from urllib.parse import unquote

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.utils import timezone

from msp.audit.context import (
    SOURCE_ADMIN,
    SOURCE_API,
    SOURCE_PORTAL,
    SOURCE_WEB,
    SOURCE_WORKSPACE,
    AuditContext,
    audit_scope,
)
from msp.logging import REQUEST_ID_HEADER, request_id_for
from msp.timetext import zone_or_none

_SOURCES = (
    ("/api/", SOURCE_API),
    ("/admin/", SOURCE_ADMIN),
    ("/workspace/", SOURCE_WORKSPACE),
    ("/portal/", SOURCE_PORTAL),
)


class AuditMiddleware:
    """Opens the request's audit scope: its area, the client address (found as the login
    lockout finds it, so the same proxy settings apply) and the request, whose user is read
    when a row is written. API token requests are authenticated later, inside the view: the
    token authentication names the user and token in this scope then. Its correlation id is
    the request id of the logs (msp.logging), sent back as the X-Request-ID header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        source = next((name for prefix, name in _SOURCES if path.startswith(prefix)), SOURCE_WEB)
        context = AuditContext(
            source=source,
            request=request,
            remote_addr=get_client_ip_address(request),
            cid=request_id_for(request),
        )
        with audit_scope(context):
            response = self.get_response(request)
        # The request id, for the client, the proxy's access log and a support call alike.
        response.headers[REQUEST_ID_HEADER] = context.cid
        return response


# Written by static/js/timezone.js: the browser's IANA zone (Intl.DateTimeFormat).
TIMEZONE_COOKIE = "tz"


def viewer_timezone(request):
    """The zone a request's pages are shown in: the user's own setting, else the browser's
    (the cookie, if it names a zone this machine knows), else None (settings.TIME_ZONE)."""
    user = getattr(request, "user", None)
    # Only a request with a session can have a user: others (health checks, alert intake, API
    # tokens) are not made to read one.
    has_session = settings.SESSION_COOKIE_NAME in request.COOKIES
    if user is not None and has_session and user.is_authenticated:
        chosen = zone_or_none(getattr(user, "timezone", ""))
        if chosen is not None:
            return chosen
    return zone_or_none(unquote(request.COOKIES.get(TIMEZONE_COOKIE, "")))


class TimezoneMiddleware:
    """Activates the viewer's zone for the request (after authentication: the user's setting
    comes first), so that every page and fragment reads times the same way."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = viewer_timezone(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
