"""Who may call what. Three layers, all checked on every request:
1. authenticated (session or token);
2. the token's scope: read tokens only read, alerts tokens only post alerts;
3. the role: staff read everything; writes as each view says (`write_roles`); client users
   reach only the views that allow them (`client_users_allowed`), and querysets are narrowed
   to their client by `for_user`."""

from rest_framework import permissions

from msp.choices import TokenScope
from msp.models import ApiToken


def token_scope(request) -> str | None:
    return request.auth.scope if isinstance(request.auth, ApiToken) else None


class ScopedAccess(permissions.BasePermission):
    message = "Your role or token may not do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        scope = token_scope(request)
        is_alert_view = getattr(view, "alerts_endpoint", False)
        if scope == TokenScope.ALERTS or is_alert_view:
            # Alert tokens call nothing else; the alert endpoints need alert or write rights.
            return is_alert_view and scope in (TokenScope.ALERTS, TokenScope.WRITE, None)
        safe = request.method in permissions.SAFE_METHODS
        if scope == TokenScope.READ and not safe:
            self.message = "This token may only read."
            return False
        if not user.is_msp_staff and not getattr(view, "client_users_allowed", False):
            self.message = "This is for MSP staff."
            return False
        if safe:
            return True
        roles = getattr(view, "write_roles", None)
        if roles is not None and user.role not in roles:
            self.message = "Your role may not make this change."
            return False
        return True
