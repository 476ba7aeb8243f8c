"""Everything a user can do in the browser can be done over the API: each page URL that takes
a change (POST, PUT, PATCH, DELETE) names its API operation here, and the operation must be in
the OpenAPI schema. A new page action without an API counterpart fails this test until it has
one (or a reason to have none, in NO_API)."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

# Page URL name -> the API operations that do the same, "METHOD /api/v1/path".
API_OF = {
    # Tickets (workspace)
    "tickets:create": ["POST /api/v1/tickets/"],
    "tickets:reply": ["POST /api/v1/tickets/{id}/reply/"],
    "tickets:note": ["POST /api/v1/tickets/{id}/note/"],
    "tickets:acknowledge": ["POST /api/v1/tickets/{id}/acknowledge/"],
    "tickets:assign": ["POST /api/v1/tickets/{id}/assign/"],
    "tickets:take": ["POST /api/v1/tickets/{id}/assign/"],
    "tickets:contact": ["POST /api/v1/tickets/{id}/contact/"],
    "tickets:status": ["POST /api/v1/tickets/{id}/status/"],
    "tickets:priority": ["POST /api/v1/tickets/{id}/priority/"],
    "tickets:escalate": ["POST /api/v1/tickets/{id}/escalate/"],
    "tickets:resolve": ["POST /api/v1/tickets/{id}/resolve/"],
    "tickets:reopen": ["POST /api/v1/tickets/{id}/reopen/"],
    "tickets:close": ["POST /api/v1/tickets/{id}/close/"],
    "tickets:merge": ["POST /api/v1/tickets/{id}/merge/"],
    "tickets:parent": ["POST /api/v1/tickets/{id}/parent/"],
    "tickets:time": ["POST /api/v1/tickets/{id}/log-time/"],
    # Time: the timesheet, approval and the timer
    "workspace:timesheet-add": ["POST /api/v1/tickets/{id}/log-time/"],
    "workspace:timesheet-edit": ["PATCH /api/v1/time-entries/{id}/"],
    "workspace:timesheet-delete": ["DELETE /api/v1/time-entries/{id}/"],
    "workspace:timesheet-recall": ["POST /api/v1/time-entries/{id}/recall/"],
    "workspace:timesheet-submit": ["POST /api/v1/time-entries/submit/"],
    "workspace:time-approval": [
        "GET /api/v1/time-entries/",
        "POST /api/v1/time-entries/approve/",
    ],
    "workspace:time-reject": ["POST /api/v1/time-entries/{id}/reject/"],
    "workspace:timer-start": ["POST /api/v1/time-entries/timer/start/"],
    "tickets:row-take": ["POST /api/v1/tickets/{id}/assign/"],
    # Billing
    "workspace:billing-run": ["POST /api/v1/invoices/run/"],
    "workspace:billing-invoice-review": ["POST /api/v1/invoices/{id}/review/"],
    "workspace:billing-invoice-reopen": ["POST /api/v1/invoices/{id}/reopen/"],
    "workspace:billing-invoice-finalise": ["POST /api/v1/invoices/{id}/finalise/"],
    "workspace:billing-invoice-void": ["POST /api/v1/invoices/{id}/void/"],
    "workspace:billing-credit-note-create": ["POST /api/v1/invoices/{id}/credit-note/"],
    "workspace:billing-spend": ["POST /api/v1/spend-records/"],
    "workspace:billing-spend-import": ["POST /api/v1/spend-records/import/"],
    "workspace:timer-stop": ["POST /api/v1/time-entries/timer/stop/"],
    "workspace:timer-discard": ["POST /api/v1/time-entries/timer/discard/"],
    "tickets:attach": [
        "POST /api/v1/tickets/{id}/attachments/",
        "GET /api/v1/tickets/{id}/attachments/{attachment_id}/",
    ],
    "tickets:canned-list": ["POST /api/v1/canned-responses/"],
    "tickets:canned-edit": ["PATCH /api/v1/canned-responses/{id}/"],
    "tickets:canned-delete": ["DELETE /api/v1/canned-responses/{id}/"],
    "tickets:unrouted-alerts": [
        "GET /api/v1/unrouted-alerts/",
        "POST /api/v1/unrouted-alerts/{id}/route/",
    ],
    # Portal (client users, through the same endpoints, scoped to their client)
    "portal:ticket-new": ["POST /api/v1/tickets/"],
    "portal:ticket-detail": ["POST /api/v1/tickets/{id}/reply/"],
    # Contracts
    "contracts:create": ["POST /api/v1/contracts/"],
    "contracts:edit": ["PATCH /api/v1/contracts/{id}/"],
    "contracts:status": ["POST /api/v1/contracts/{id}/status/"],
    "contracts:evaluate": ["POST /api/v1/contracts/{id}/evaluate/"],
    "contracts:part-create": [
        "POST /api/v1/service-lines/",
        "POST /api/v1/maintenance-windows/",
        "POST /api/v1/outages/",
        "POST /api/v1/compliance-targets/",
    ],
    "contracts:part-edit": [
        "PATCH /api/v1/service-lines/{id}/",
        "PATCH /api/v1/maintenance-windows/{id}/",
        "PATCH /api/v1/outages/{id}/",
        "PATCH /api/v1/compliance-targets/{id}/",
    ],
    "contracts:part-delete": [
        "DELETE /api/v1/service-lines/{id}/",
        "DELETE /api/v1/maintenance-windows/{id}/",
        "DELETE /api/v1/outages/{id}/",
        "DELETE /api/v1/compliance-targets/{id}/",
    ],
    "contracts:plan-add": ["POST /api/v1/evaluations/{id}/plans/"],
    "contracts:exempt": ["POST /api/v1/breach-exemptions/"],
    "contracts:exemption-revoke": ["POST /api/v1/breach-exemptions/{id}/revoke/"],
    # SLA configuration
    "sla:calendar-create": ["POST /api/v1/calendars/"],
    "sla:calendar-edit": ["PATCH /api/v1/calendars/{id}/"],
    "sla:holiday-add": ["POST /api/v1/calendars/{id}/holidays/"],
    "sla:holiday-import": ["POST /api/v1/calendars/{id}/holidays/import/"],
    "sla:holiday-delete": ["DELETE /api/v1/calendars/{id}/holidays/{day}/"],
    "sla:policy-create": ["POST /api/v1/sla-policies/"],
    "sla:policy-edit": ["PATCH /api/v1/sla-policies/{id}/"],
    "sla:escalation-rules": [
        "POST /api/v1/escalation-rules/",
        "PATCH /api/v1/escalation-rules/{id}/",
        "DELETE /api/v1/escalation-rules/{id}/",
    ],
    # Reports
    "reporting:generate": ["POST /api/v1/reports/"],
    "reporting:annotate": ["POST /api/v1/reports/{id}/annotate/"],
    "reporting:send": ["POST /api/v1/reports/{id}/send/"],
    # The directory and the workspace's own settings
    "workspace:client-teams": ["PATCH /api/v1/teams/{id}/"],
    **{
        f"workspace:{kind}-{action}": [operation.replace("RESOURCE", resource)]
        for kind, resource in [
            ("client", "clients"),
            ("site", "sites"),
            ("contact", "contacts"),
            ("asset", "assets"),
            ("person", "users"),
            ("team", "teams"),
            ("mailbox", "mailboxes"),
        ]
        for action, operation in [
            ("create", "POST /api/v1/RESOURCE/"),
            ("edit", "PATCH /api/v1/RESOURCE/{id}/"),
            # Deactivating is a PATCH of the status (clients) or of is_active (the others).
            ("deactivate", "PATCH /api/v1/RESOURCE/{id}/"),
            ("reactivate", "PATCH /api/v1/RESOURCE/{id}/"),
        ]
        if not (kind in ("site", "team") and action in ("deactivate", "reactivate"))
    },
    "workspace:priority-matrix": ["GET /api/v1/priority-matrix/", "PATCH /api/v1/priority-matrix/"],
    "workspace:notification-list": [
        "GET /api/v1/notifications/",
        "POST /api/v1/notifications/mark-read/",
    ],
    "workspace:webhook-settings": [
        "GET /api/v1/webhook-settings/",
        "PATCH /api/v1/webhook-settings/",
    ],
    "workspace:webhook-list": ["POST /api/v1/webhook-endpoints/"],
    "workspace:webhook-detail": ["PATCH /api/v1/webhook-endpoints/{id}/"],
    "workspace:webhook-secret": ["GET /api/v1/webhook-endpoints/{id}/secret/"],
    "workspace:webhook-rotate": ["POST /api/v1/webhook-endpoints/{id}/rotate-secret/"],
    "workspace:webhook-test": ["POST /api/v1/webhook-endpoints/{id}/test/"],
    "workspace:webhook-replay": ["POST /api/v1/webhook-endpoints/{id}/replay/"],
    "workspace:webhook-delete": ["DELETE /api/v1/webhook-endpoints/{id}/"],
    "portal:webhook-list": ["POST /api/v1/webhook-endpoints/"],
    "portal:webhook-detail": ["PATCH /api/v1/webhook-endpoints/{id}/"],
    "portal:webhook-secret": ["GET /api/v1/webhook-endpoints/{id}/secret/"],
    "portal:webhook-rotate": ["POST /api/v1/webhook-endpoints/{id}/rotate-secret/"],
    "portal:webhook-test": ["POST /api/v1/webhook-endpoints/{id}/test/"],
    "portal:webhook-replay": ["POST /api/v1/webhook-endpoints/{id}/replay/"],
    "portal:webhook-delete": ["DELETE /api/v1/webhook-endpoints/{id}/"],
}

# Page actions that are the browser session itself, with the reason they have no API twin.
NO_API = {
    "login": "signing in makes a browser session; the API takes tokens",
    "logout": "ends the browser session",
    "password_reset": "emailed link for people, not integrations",
    "password_reset_confirm": "emailed link for people, not integrations",
    "mfa-verify": "second factor of a browser sign-in",
    "mfa-totp-setup": "enrolling a person's authenticator app",
    "mfa-recovery-codes": "a person's recovery codes",
    "mfa-device-remove": "a person's second factors",
    "otp_webauthn:credential-registration-begin": "passkeys belong to a browser",
    "otp_webauthn:credential-registration-complete": "passkeys belong to a browser",
    "otp_webauthn:credential-authentication-begin": "passkeys belong to a browser",
    "otp_webauthn:credential-authentication-complete": "passkeys belong to a browser",
    "api-tokens": "a token may not mint tokens: made by a signed-in person",
    "api-token-revoke": "made by a signed-in person (a leaked token cannot revoke others)",
    "sign-out-everywhere": "ends a person's browser sessions",
    "tickets:preview": "renders the composer's Markdown as it will be stored; the API returns "
    "a comment's body_html",
    "csat-comment": "answered by the client from the emailed survey link, no account",
    "tickets:bulk": "a page's way of making many single changes; the API makes each through "
    "its ticket's action (assign, status, priority, merge, close)",
    "tickets:saved-view-create": "a person's saved queue filters; the API takes them as query "
    "parameters",
    "tickets:saved-view-rename": "a person's saved queue filters",
    "tickets:saved-view-delete": "a person's saved queue filters",
    "user-timezone": "the zone the pages show times in; the API speaks UTC (ISO 8601)",
    "workspace:billing-invoice-discard": "a draft is recomputed by the next run (POST "
    "/api/v1/invoices/run/); discarding is a page's review step",
    "workspace:billing-invoice-resend": "emails a person; the API returns the document",
    "workspace:billing-rates": "the rate card and a client's taxes are kept on their page; the "
    "API reads them (hourly-rates, tax-rates)",
}

CHANGING = ("post", "put", "patch", "delete")


def _page_actions() -> dict[str, str]:
    """Every page URL (not the API, not the Django admin) whose view takes a change."""

    def walk(patterns, prefix="", namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                yield prefix + str(pattern.pattern), name, pattern.callback

    actions = {}
    for path, name, callback in walk(get_resolver().url_patterns):
        if path.startswith(("api/", "admin/")):
            continue
        view = getattr(callback, "view_class", None)
        if view is not None and any(hasattr(view, method) for method in CHANGING):
            actions[name] = path
    return actions


@pytest.fixture(scope="module")
def operations() -> set[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        f"{method.upper()} {path}"
        for path, methods in schema["paths"].items()
        for method in methods
        if method in ("get", *CHANGING)
    }


def test_every_page_action_is_classified():
    unclassified = sorted(set(_page_actions()) - API_OF.keys() - NO_API.keys())
    assert unclassified == [], "page actions with no API counterpart named in API_OF"


def test_every_named_counterpart_exists(operations):
    named = {operation for wanted in API_OF.values() for operation in wanted}
    assert named - operations == set()


def test_the_lists_name_only_real_pages():
    assert set(API_OF) | set(NO_API) <= set(_page_actions())
