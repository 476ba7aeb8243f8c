"""Request middleware of the project."""

from axes.helpers import get_client_ip_address

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
