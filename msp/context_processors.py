from django.urls import reverse

from msp.choices import UserRole
from msp.sent_mail import sent_mail_enabled


def navigation(request) -> dict:
    """Navigation entries for the signed-in user's area (workspace or portal)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    if user.is_msp_staff:
        items = [
            ("Tickets", reverse("tickets:queue")),
            ("New ticket", reverse("tickets:create")),
            ("SLA risk", reverse("workspace:sla-risk")),
            ("My accounts", reverse("workspace:accounts")),
            ("Clients", reverse("workspace:client-list")),
            ("Contracts", reverse("contracts:list")),
            ("Reports", reverse("reporting:list")),
            ("Calendars", reverse("sla:calendar-list")),
            ("SLA policies", reverse("sla:policy-list")),
        ]
        if user.role in (UserRole.DISPATCHER, UserRole.ADMIN):
            items.append(("Unrouted alerts", reverse("tickets:unrouted-alerts")))
        if user.role == UserRole.ADMIN:
            items.append(("Audit trail", reverse("workspace:audit-list")))
            items.append(("Webhooks", reverse("workspace:webhook-list")))
            if sent_mail_enabled():
                items.append(("Sent mail", reverse("workspace:sent-mail-list")))
        if user.is_superuser:
            items.append(("Django admin", reverse("admin:index")))
    else:
        items = [
            ("SLA dashboard", reverse("portal:sla-dashboard")),
            ("Reports", reverse("portal:report-list")),
            ("Tickets", reverse("portal:ticket-list")),
            ("New ticket", reverse("portal:ticket-new")),
            ("My organisation", reverse("portal:home")),
        ]
    return {"nav_items": items}
