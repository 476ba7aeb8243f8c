from django.urls import resolve, reverse

from msp.choices import UserRole
from msp.sent_mail import sent_mail_enabled

# The workspace's entries: (label, URL name, the roles it is for; None: every staff role).
# Technicians work tickets: the account managers' pages (their accounts, contracts, reports)
# and the SLA configuration (calendars, policies) are reachable from a client's page and by
# address, but not offered to them. An entry is also left out for a role its view refuses
# (a RoleRequiredMixin's allowed_roles), so the navigation never leads to a 403.
MANAGEMENT = (UserRole.DISPATCHER, UserRole.ACCOUNT_MANAGER, UserRole.ADMIN)
WORKSPACE_ENTRIES = [
    ("Tickets", "tickets:queue", None),
    ("New ticket", "tickets:create", None),
    ("SLA risk", "workspace:sla-risk", None),
    ("Timesheet", "workspace:timesheet", None),
    ("Time approval", "workspace:time-approval", None),
    ("My accounts", "workspace:accounts", MANAGEMENT),
    ("Clients", "workspace:client-list", None),
    ("Contracts", "contracts:list", MANAGEMENT),
    ("Reports", "reporting:list", MANAGEMENT),
    ("Billing", "workspace:billing-invoice-list", (UserRole.ACCOUNT_MANAGER, UserRole.ADMIN)),
    ("Calendars", "sla:calendar-list", MANAGEMENT),
    ("SLA policies", "sla:policy-list", MANAGEMENT),
    ("Unrouted alerts", "tickets:unrouted-alerts", None),
    ("Audit trail", "workspace:audit-list", None),
    ("Webhooks", "workspace:webhook-list", None),
    ("Sent mail", "workspace:sent-mail-list", None),
]


def view_allows(url: str, role: str) -> bool:
    """Whether the role check of the view at `url` lets `role` in."""
    view = getattr(resolve(url).func, "view_class", None)
    allowed = getattr(view, "allowed_roles", ())
    return not allowed or role in allowed


def workspace_entries(user) -> list[tuple[str, str]]:
    items = []
    for label, name, roles in WORKSPACE_ENTRIES:
        if roles is not None and user.role not in roles:
            continue
        if name == "workspace:sent-mail-list" and not sent_mail_enabled():
            continue
        url = reverse(name)
        if view_allows(url, user.role):
            items.append((label, url))
    if user.is_superuser:
        items.append(("Django admin", reverse("admin:index")))
    return items


def navigation(request) -> dict:
    """Navigation entries for the signed-in user's area (workspace or portal)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    if user.is_msp_staff:
        items = workspace_entries(user)
    else:
        items = [
            ("SLA dashboard", reverse("portal:sla-dashboard")),
            ("Reports", reverse("portal:report-list")),
            ("Invoices", reverse("portal:invoice-list")),
            ("Tickets", reverse("portal:ticket-list")),
            ("New ticket", reverse("portal:ticket-new")),
            ("My organisation", reverse("portal:home")),
        ]
    return {"nav_items": items}
