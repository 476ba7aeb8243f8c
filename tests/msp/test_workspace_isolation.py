"""Technician-to-client scoping over every workspace page (the isolation matrix of the portal
and the API, for staff): staff whose teams serve only client A never see client B's data on
a list, get 404 for B's objects whatever the method, and change nothing of B; the same pages
with A's objects work (controls).

The workspace's URLs are enumerated from the URLconf: a new page must be classified below
(an object page, a list page, or configuration that holds no client data)."""

import copy
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone

from contracts.choices import ContractStatus
from contracts.models import (
    BreachExemption,
    MaintenanceWindow,
    MonthlyEvaluation,
    Outage,
    ServiceLine,
)
from msp.choices import UserRole
from msp.models import Client
from reporting.billing.models import Invoice, InvoiceDelivery, InvoiceLine, InvoiceRun
from tests.factories import (
    AssetFactory,
    ClientFactory,
    ContactFactory,
    ContractFactory,
    ReportFactory,
    SiteFactory,
    StaffFactory,
    TeamFactory,
)
from tests.helpers import rows_for_the_module, signed_in
from tickets import services
from tickets.choices import TimeEntryState
from tickets.models import CannedResponse, Ticket, TimeEntry, UnroutedAlert

pytestmark = pytest.mark.django_db

REFUSED = {403, 404, 405}


@pytest.fixture(scope="module")
def world_once(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world below, made once for this module's few hundred tests (0.4 s each when made
    per test)."""
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"))
    with media, rows_for_the_module(django_db_blocker):
        yield _world()


@pytest.fixture
def world(world_once, db):
    """The module's world, its instances copied so that a test changing one in memory does
    not hand the change to the next."""
    return copy.deepcopy(world_once)


def _world() -> dict:
    """Clients A (Alpha) and B (Bravo), each with one of everything; B's names all contain
    "Bravo", so that a page showing any of them is caught."""
    admin = StaffFactory(role=UserRole.ADMIN, tier="", teams=[])
    rows = {}
    for key, name in (("a", "Alpha"), ("b", "Bravo")):
        client = ClientFactory(name=f"{name} Holdings", slug=f"{name.lower()}-holdings")
        contact = ContactFactory(client=client, full_name=f"{name} Contact")
        site = SiteFactory(client=client, name=f"{name} Site")
        asset = AssetFactory(client=client, name=f"{name.upper()}-SRV")
        contract = ContractFactory(
            client=client,
            number=f"C-{name.upper()}",
            name=f"{name} IT",
            status=ContractStatus.ACTIVE,
        )
        ticket = services.ticket_open(
            client=client, contact=contact, site=site, asset=asset, subject=f"{name} outage"
        )
        attachment = services.attachment_add(
            ticket=ticket, upload=SimpleUploadedFile(f"{name}.txt", b"log"), user=admin
        )
        evaluation = MonthlyEvaluation.objects.create(
            contract=contract, month=date(2026, 1, 1), ladder_step="ok", currency="USD"
        )
        clock = ticket.sla_clocks.first()
        # Submitted time on each client's ticket (by the administrator): the approval page's.
        time_entry = services.time_entry_log(ticket=ticket, user=admin, minutes=5, note=name)
        TimeEntry.objects.filter(pk=time_entry.pk).update(state=TimeEntryState.SUBMITTED)
        invoice = _finalised_invoice(client, contract, sequence=len(rows) + 1)
        rows[key] = {
            "client": client,
            "contact": contact,
            "ticket": ticket,
            "attachment": attachment,
            "contract": contract,
            "line": ServiceLine.objects.create(
                contract=contract, service="network", pricing_model="fixed_retainer"
            ),
            "window": MaintenanceWindow.objects.create(
                contract=contract, name=f"{name} window", start=timezone.now(), duration_minutes=60
            ),
            "outage": Outage.objects.create(
                contract=contract, service="network", start=timezone.now(), description=name
            ),
            "evaluation": evaluation,
            "clock": clock,
            "time_entry": time_entry,
            "invoice": invoice,
            "exemption": BreachExemption.objects.create(
                clock=clock,
                cause="client",
                reason=name,
                granted_by=admin,
                granted_at=timezone.now(),
            ),
            "report": ReportFactory(client=client),
            "unrouted": UnroutedAlert.objects.create(
                source="zabbix",
                fingerprint=f"{name}-disk",
                status="firing",
                severity="critical",
                summary=f"{name} disk full",
                reason="unknown host",
                sender=admin,
                scope_client=client,
                received_at=timezone.now(),
            ),
        }
    rows["run"] = InvoiceRun.objects.create(month=date(2026, 1, 1), started_by=admin)
    Invoice.objects.filter(kind="invoice").update(run=rows["run"])
    rows["team"] = TeamFactory(name="Pod A")
    rows["team"].clients.set([rows["a"]["client"]])
    rows["admin"] = admin
    return rows


def _finalised_invoice(client, contract, sequence: int) -> Invoice:
    """A finalised January invoice of the client (billing's pages), written as it is stored."""
    invoice = Invoice.objects.create(
        client=client, currency="USD", billing_cycle="monthly", period_start=date(2026, 1, 1),
        period_end=date(2026, 2, 1), status="finalised", number=f"INV-2026-{sequence:04d}",
        number_year=2026, number_sequence=sequence, issued_on=date(2026, 2, 1),
        due_on=date(2026, 3, 3), subtotal=Decimal("100.00"), total=Decimal("100.00"),
    )  # fmt: skip
    InvoiceLine.objects.create(
        invoice=invoice, position=1, kind="fixed_fee", contract=contract,
        description=f"{contract.name}: monthly fee", quantity=1, unit="month",
        unit_price=Decimal("100.00"), amount=Decimal("100.00"),
    )  # fmt: skip
    return invoice


SCOPED_ROLES = [UserRole.TECHNICIAN, UserRole.DISPATCHER, UserRole.ACCOUNT_MANAGER]


@pytest.fixture(params=SCOPED_ROLES)
def scoped(request, world):
    """A staff member of the given role whose only team serves client A."""
    tier = "L1" if request.param == UserRole.TECHNICIAN else ""
    return StaffFactory(role=request.param, tier=tier, teams=[world["team"]])


# Every workspace URL that names an object: its arguments for one client's objects.
OBJECT_URLS = {
    "workspace:client-detail": lambda o: [o["client"].slug],
    "workspace:client-teams": lambda o: [o["client"].slug],
    **{
        f"workspace:client-{name}": lambda o: [o["client"].slug]
        for name in ["edit", "deactivate", "reactivate"]
    },
    "workspace:site-edit": lambda o: [o["ticket"].site_id],
    **{
        f"workspace:contact-{name}": lambda o: [o["contact"].pk]
        for name in ["edit", "deactivate", "reactivate"]
    },
    **{
        f"workspace:asset-{name}": lambda o: [o["ticket"].asset_id]
        for name in ["edit", "deactivate", "reactivate"]
    },
    **{
        f"tickets:{name}": lambda o: [o["ticket"].pk]
        for name in [
            "detail",
            "sla",
            "reply",
            "note",
            "acknowledge",
            "assign",
            "take",
            "contact",
            "status",
            "priority",
            "escalate",
            "resolve",
            "reopen",
            "close",
            "merge",
            "parent",
            "time",
            "attach",
            "row-take",
            "live",
            "preview",
            "canned-menu",
        ]
    },
    # A shared canned response filled for the ticket: the ticket's scope decides.
    "tickets:canned-insert": lambda o: [o["ticket"].pk, _shared_canned().pk],
    "tickets:attachment": lambda o: [o["ticket"].pk, o["attachment"].pk],
    "contracts:detail": lambda o: [o["contract"].pk],
    "contracts:edit": lambda o: [o["contract"].pk],
    "contracts:status": lambda o: [o["contract"].pk],
    "contracts:evaluate": lambda o: [o["contract"].pk],
    "contracts:part-create": lambda o: [o["contract"].pk, "windows"],
    "contracts:part-edit": lambda o: [o["contract"].pk, "lines", o["line"].pk],
    "contracts:part-delete": lambda o: [o["contract"].pk, "outages", o["outage"].pk],
    "contracts:plan-add": lambda o: [o["contract"].pk, o["evaluation"].pk],
    "contracts:exemption-revoke": lambda o: [o["contract"].pk, o["exemption"].pk],
    "contracts:exempt": lambda o: [o["clock"].pk],
    "reporting:detail": lambda o: [o["report"].pk],
    "reporting:annotate": lambda o: [o["report"].pk],
    "reporting:send": lambda o: [o["report"].pk],
    "reporting:download": lambda o: [o["report"].pk, "pdf"],
    "workspace:audit-object": lambda o: ["contracts.contract", o["contract"].pk],
    "workspace:time-reject": lambda o: [o["time_entry"].pk],
    "workspace:timer": lambda o: [o["ticket"].pk],
    "workspace:timer-start": lambda o: [o["ticket"].pk],
    **{
        f"workspace:billing-{name}": lambda o: [o["invoice"].pk]
        for name in [
            "invoice-detail",
            "invoice-review",
            "invoice-reopen",
            "invoice-finalise",
            "invoice-discard",
            "invoice-resend",
            "invoice-void",
            "credit-note-create",
            "invoice-pdf",
        ]
    },
}

# Pages without an object, and the query strings that try to reach B through them.
LIST_URLS = {
    "workspace:sla-risk": [{}, {"mine": "0"}],
    "workspace:accounts": [{}, {"all": "1"}],
    "workspace:client-list": [{}, {"q": "holdings"}, {"show": "all"}],
    "workspace:client-create": [{}],
    "workspace:site-list": [{}, {"q": "site"}],
    "workspace:site-create": [{}, {"client": "B"}],
    "workspace:contact-list": [{}, {"show": "all"}],
    "workspace:contact-create": [{}, {"client": "B"}],
    "workspace:asset-list": [{}, {"q": "SRV", "show": "all"}],
    "workspace:asset-create": [{}, {"client": "B"}],
    "workspace:person-list": [{}, {"show": "all"}],
    "workspace:team-list": [{}],
    "workspace:notification-list": [{}],
    "workspace:notification-badge": [{}],
    "tickets:queue": [
        {},
        {"queue": "all"},
        {"queue": "all", "q": "outage"},
        {"client": "B"},
        {"queue": "all", "sort": "-client", "per_page": "100"},
    ],
    # POST only (GET is 405); what they do with B's tickets: the tests at the end.
    "tickets:bulk": [{}],
    "tickets:saved-view-create": [{}],
    "tickets:create": [{}, {"client": "B"}],
    "tickets:client-fields": [{"client": "B"}],
    "tickets:unrouted-alerts": [{}],
    "tickets:canned-list": [{}],
    "tickets:queue-live": [{}, {"queue": "all"}, {"queue": "all", "q": "outage"}, {"client": "B"}],
    "contracts:list": [{}],
    "contracts:create": [{}],
    "reporting:list": [{}, {"client": "bravo-holdings"}],
    "reporting:generate": [{}],
    "workspace:audit-list": [{}, {"model": "contracts.contract"}],
    # The signed-in person's own timesheet and timer, and the approval page (managers: the
    # submitted time of the clients they see).
    "workspace:timesheet": [{}, {"week": "2026-01-05"}],
    "workspace:timesheet-add": [{}],
    "workspace:timesheet-submit": [{}],
    "workspace:timer-stop": [{}],
    "workspace:timer-discard": [{}],
    "workspace:time-approval": [{}],
    # Billing (administrators and account managers; the others 403).
    "workspace:billing-invoice-list": [{}, {"status": "finalised"}, {"period": "2026-01"}],
    "workspace:billing-run": [{}],
    "workspace:billing-spend": [{}, {"month": "2026-01"}],
    "workspace:billing-spend-import": [{}],
    "workspace:billing-rates": [{}, {"client": "B"}],
    # Search everywhere and its typeahead: words that both clients' objects have.
    **{
        name: [{}, {"q": "holdings"}, {"q": "outage"}, {"q": "contact"}, {"q": "srv"}]
        for name in ("workspace:search", "workspace:search-suggest")
    },
}


def _shared_canned():
    return CannedResponse.objects.get_or_create(
        owner=None, title="Hello", defaults={"body": "Hello {{contact.name}}"}
    )[0]


# A person's own time entries: anyone else's, whoever asks, is 404 (below, and
# tests/tickets/test_timesheet_pages.py::TestTimesheet::test_nobody_changes_another_persons_entry).
OWN_TIME_ENTRY_URLS = {
    "workspace:timesheet-edit",
    "workspace:timesheet-delete",
    "workspace:timesheet-recall",
}

# Configuration shared by every client (calendars, SLA policies): no client's data.
CONFIGURATION = {
    # Webhook endpoints: administrators' own settings (their scoping: tests/msp/test_webhooks.py).
    "workspace:webhook-list",
    "workspace:webhook-settings",
    "workspace:webhook-detail",
    "workspace:webhook-secret",
    "workspace:webhook-rotate",
    "workspace:webhook-test",
    "workspace:webhook-replay",
    "workspace:webhook-delete",
    "sla:calendar-list",
    "sla:calendar-create",
    "sla:calendar-detail",
    "sla:calendar-edit",
    "sla:holiday-add",
    "sla:holiday-import",
    "sla:holiday-delete",
    "sla:policy-list",
    "sla:policy-create",
    "sla:policy-edit",
    "sla:escalation-rules",
    # People and teams: administrators' pages (staff are no client's data; a client user is
    # reached only by administrators, who see every client).
    "workspace:person-create",
    "workspace:person-edit",
    "workspace:person-deactivate",
    "workspace:person-reactivate",
    "workspace:team-create",
    "workspace:team-edit",
    # The priority matrix and mailboxes: intake configuration (a mailbox's default client is
    # chosen by administrators, who see every client).
    "workspace:priority-matrix",
    "workspace:mailbox-list",
    "workspace:mailbox-create",
    "workspace:mailbox-edit",
    "workspace:mailbox-deactivate",
    "workspace:mailbox-reactivate",
    # Sent mail: the embedded default's outgoing mail, administrators only, and only while
    # email goes to files in development (tests/msp/test_sent_mail.py).
    "workspace:sent-mail-list",
    "workspace:sent-mail-detail",
    "workspace:sent-mail-attachment",
    # Saved views: a person's queue filters, no client's data; another's personal view is
    # 404, a shared one 403 unless dispatcher or administrator, and each view's count is
    # the viewer's own scope (tests/tickets/test_saved_views.py and below).
    "tickets:saved-view-rename",
    "tickets:saved-view-delete",
    # Canned responses: a person's own or the shared ones, no client's data; anyone else's
    # own is 404 (tests/tickets/test_canned.py::TestPages).
    "tickets:canned-edit",
    "tickets:canned-delete",
}


# An invoice run covers every client it billed: its summary shows only the viewer's (below).
RUN_URLS = {"workspace:billing-run-detail"}


def _workspace_url_names(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _workspace_url_names(pattern, route, inner)
        elif route.startswith("workspace/"):
            yield namespace + pattern.name


def test_the_matrix_classifies_every_workspace_url():
    names = set(_workspace_url_names())
    classified = set(OBJECT_URLS) | set(LIST_URLS) | CONFIGURATION | RUN_URLS | OWN_TIME_ENTRY_URLS
    assert names == classified, (names - classified, classified - names)


def _form(world, whose):
    """Whatever a form on these pages may ask for, pointing at `whose` objects."""
    theirs = world[whose]
    return {
        "body": "x",
        "reason": "x",
        "resolution": "x",
        "note": "x",
        "minutes": "5",
        "work_type": "remote",
        "status": "in_progress",
        "impact": "high",
        "urgency": "high",
        "target": theirs["ticket"].pk,
        "parent": theirs["ticket"].pk,
        "contact": theirs["contact"].pk,
        "summary": "x",
        "recommendations": "x",
        "actions": "x",
        "due_date": "2026-12-31",
        "month": "2026-01",
        "cause": "client",
        "revoke_reason": "x",
        "teams": [world["team"].pk],
        "name": "x",
        "start": "2026-12-01T10:00",
        "duration_minutes": "60",
        "attachments": SimpleUploadedFile("x.txt", b"x"),
    }


def footprint(client: Client) -> dict:
    """What a write to client B could change."""
    tickets = Ticket.objects.filter(client=client)
    return {
        "tickets": list(tickets.order_by("pk").values_list("pk", "updated_at", "status")),
        "comments": sum(ticket.comments.count() for ticket in tickets),
        "events": sum(ticket.events.count() for ticket in tickets),
        "attachments": sum(ticket.attachments.count() for ticket in tickets),
        "contracts": list(client.contracts.values_list("pk", "updated_at", "status")),
        "lines": ServiceLine.objects.filter(contract__client=client).count(),
        "windows": MaintenanceWindow.objects.filter(contract__client=client).count(),
        "outages": Outage.objects.filter(contract__client=client).count(),
        "exemptions": list(
            BreachExemption.objects.filter(clock__client=client).values_list("pk", "revoked_at")
        ),
        "reports": list(client.reports.values_list("pk", "summary", "sent_at")),
        "invoices": list(
            Invoice.objects.filter(client=client).values_list("pk", "status", "updated_at")
        ),
        "invoice_deliveries": InvoiceDelivery.objects.filter(invoice__client=client).count(),
        "teams": list(client.teams.values_list("pk", flat=True)),
        "routed": UnroutedAlert.objects.filter(routed_client=client).count(),
        "client": list(Client.objects.filter(pk=client.pk).values_list("updated_at", "status")),
        "sites": list(client.sites.values_list("pk", "updated_at")),
        "contacts": list(client.contacts.values_list("pk", "updated_at", "is_active")),
        "assets": list(client.assets.values_list("pk", "updated_at", "is_active")),
    }


@pytest.mark.parametrize("name", sorted(OBJECT_URLS))
def test_client_b_objects_are_404_on_every_workspace_url(world, scoped, name):
    url = reverse(name, args=OBJECT_URLS[name](world["b"]))
    http = signed_in(scoped)
    before = footprint(world["b"]["client"])
    get = http.get(url)
    post = http.post(url, _form(world, "b"))
    assert get.status_code in REFUSED and post.status_code in REFUSED, (get, post)
    assert 404 in (get.status_code, post.status_code) or 403 in (
        get.status_code,
        post.status_code,
    )
    assert footprint(world["b"]["client"]) == before


# Who may open an object page at all (the role rule, apart from the client scope).
ROLE_GATED = {
    "workspace:client-teams": (UserRole.ADMIN,),
    **{
        f"workspace:{name}": (UserRole.DISPATCHER,)
        for name in [
            "client-edit",
            "client-deactivate",
            "client-reactivate",
            "site-edit",
            "contact-edit",
            "contact-deactivate",
            "contact-reactivate",
            "asset-edit",
            "asset-deactivate",
            "asset-reactivate",
        ]
    },
    **{
        f"contracts:{name}": (UserRole.ACCOUNT_MANAGER,)
        for name in [
            "edit",
            "status",
            "evaluate",
            "part-create",
            "part-edit",
            "part-delete",
            "plan-add",
            "exemption-revoke",
            "exempt",
        ]
    },
    "reporting:annotate": (UserRole.ACCOUNT_MANAGER,),
    "workspace:time-reject": (UserRole.ACCOUNT_MANAGER,),
    "reporting:send": (UserRole.ACCOUNT_MANAGER,),
    "workspace:audit-object": (UserRole.ACCOUNT_MANAGER,),
    **{name: (UserRole.ACCOUNT_MANAGER,) for name in OBJECT_URLS if "billing-" in name},
}


@pytest.mark.parametrize("name", sorted(OBJECT_URLS))
def test_client_a_objects_are_reachable_on_every_workspace_url(world, name):
    """Control: the refusals above are about whose object it is."""
    role = ROLE_GATED.get(name, (UserRole.TECHNICIAN,))[0]
    user = (
        world["admin"]
        if role == UserRole.ADMIN
        else StaffFactory(role=role, tier="", teams=[world["team"]])
    )
    url = reverse(name, args=OBJECT_URLS[name](world["a"]))
    http = signed_in(user)
    answers = {http.get(url).status_code, http.post(url, _form(world, "a")).status_code}
    assert answers - {404, 403, 405}, answers


def _query(world, query: dict) -> dict:
    ids = {"B": world["b"]["client"].pk}
    return {key: ids.get(value, value) for key, value in query.items()}


@pytest.mark.parametrize("name", sorted(LIST_URLS))
def test_no_workspace_list_shows_client_b(world, scoped, name):
    http = signed_in(scoped)
    for query in LIST_URLS[name]:
        response = http.get(reverse(name), _query(world, query))
        assert response.status_code in (200, 403, 405), (query, response.status_code)
        assert b"Bravo" not in response.content, query
        assert b"bravo" not in response.content, query


LIST_CONTROLS = {
    "workspace:client-list": {},
    "workspace:site-list": {},
    "workspace:contact-list": {},
    "workspace:asset-list": {},
    "workspace:accounts": {"all": "1"},
    "tickets:queue": {"queue": "all"},
    "tickets:create": {},
    "contracts:list": {},
    "reporting:list": {},
    "workspace:search": {"q": "holdings"},
    "workspace:search-suggest": {"q": "outage"},
}


@pytest.mark.parametrize("name", sorted(LIST_CONTROLS))
def test_workspace_lists_show_client_a(world, scoped, name):
    response = signed_in(scoped).get(reverse(name), LIST_CONTROLS[name])
    assert response.status_code == 200
    assert b"Alpha" in response.content


def test_unrouted_alerts_of_client_b_are_neither_listed_nor_routable(world):
    dispatcher = StaffFactory(role=UserRole.DISPATCHER, tier="", teams=[world["team"]])
    http = signed_in(dispatcher)
    page = http.get(reverse("tickets:unrouted-alerts")).content
    assert b"Alpha disk full" in page and b"Bravo disk full" not in page
    for client in (world["a"]["client"], world["b"]["client"]):
        response = http.post(
            reverse("tickets:unrouted-alerts"),
            {"alert": world["b"]["unrouted"].pk, "client": client.pk},
        )
        assert response.status_code == 404
    assert not UnroutedAlert.objects.filter(routed_at__isnull=False).exists()


@pytest.mark.parametrize(
    ("name", "form"),
    [
        ("tickets:create", {"subject": "Mine", "type": "incident", "source": "phone"}),
        ("contracts:create", {"number": "C-NEW", "name": "New", "type": "managed"}),
        ("reporting:generate", {"period": "month:2026-01-01"}),
    ],
)
def test_nothing_is_created_for_client_b(world, name, form):
    manager = StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=[world["team"]])
    before = footprint(world["b"]["client"])
    data = {"client": world["b"]["client"].pk, "impact": "low", "urgency": "low", **form}
    response = signed_in(manager).post(reverse(name), data)
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    assert footprint(world["b"]["client"]) == before


def test_assignee_choices_are_the_staff_who_serve_the_client(world):
    technician = StaffFactory(teams=[world["team"]])
    elsewhere = StaffFactory(full_name="Elsewhere Tech", teams=[TeamFactory()])
    http = signed_in(technician)
    ticket = world["a"]["ticket"]
    page = http.get(reverse("tickets:detail", args=[ticket.pk])).content
    assert technician.full_name.encode() in page
    assert b"Elsewhere Tech" not in page
    response = http.post(reverse("tickets:assign", args=[ticket.pk]), {"assignee": elsewhere.pk})
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.assignee_id is None


def test_administrators_assign_teams_on_the_client_page(world):
    client = world["b"]["client"]
    pod_b = TeamFactory(name="Pod B")
    technician = StaffFactory(teams=[pod_b])
    http = signed_in(world["admin"])
    page = http.get(reverse("workspace:client-detail", args=[client.slug])).content.decode()
    assert "Assign teams" in page and "Pod B" in page
    url = reverse("workspace:client-teams", args=[client.slug])
    assert signed_in(technician).post(url, {"teams": [pod_b.pk]}).status_code == 403
    assert not client.teams.exists()
    assert http.post(url, {"teams": [pod_b.pk]}).status_code == 302
    assert list(client.teams.all()) == [pod_b]
    page = signed_in(technician).get(reverse("workspace:client-detail", args=[client.slug]))
    assert page.status_code == 200
    assert "Pod B" in page.content.decode() and "Assign teams" not in page.content.decode()
    other = signed_in(technician).get(
        reverse("workspace:client-detail", args=[world["a"]["client"].slug])
    )
    assert other.status_code == 404


BULK_ACTIONS = [
    {"action": "assign", "assignee": ""},
    {"action": "route", "tier": "L2"},
    {"action": "status", "status": "in_progress"},
    {"action": "priority", "priority": "P1", "reason": "x"},
    {"action": "close"},
]


@pytest.mark.parametrize("data", BULK_ACTIONS, ids=[d["action"] for d in BULK_ACTIONS])
def test_bulk_changes_never_reach_client_b(world, scoped, data):
    """Client B's tickets in a bulk change are refused as not found (and not named), A's
    go ahead; B's tickets, timeline and clocks are unchanged."""
    http = signed_in(scoped)
    before = footprint(world["b"]["client"])
    theirs, ours = world["b"]["ticket"].pk, world["a"]["ticket"].pk
    response = http.post(reverse("tickets:bulk"), {**data, "tickets": [theirs, ours]})
    if response.status_code == 200:  # close: the preview first, then its confirmation
        assert b"Bravo" not in response.content
        token = response.context["confirm_token"]
        response = http.post(
            reverse("tickets:bulk"), {**data, "tickets": [theirs, ours], "confirm": token}
        )
    assert response.status_code == 302
    page = http.get(response["Location"]).content.decode()
    assert f"#{theirs}: not found" in page and "Bravo" not in page
    assert footprint(world["b"]["client"]) == before


def test_bulk_merge_into_client_bs_ticket_is_refused(world, scoped):
    http = signed_in(scoped)
    before = footprint(world["b"]["client"])
    data = {"action": "merge", "tickets": [world["a"]["ticket"].pk]}
    response = http.post(reverse("tickets:bulk"), {**data, "target": world["b"]["ticket"].pk})
    assert response.status_code == 400 and b"Bravo" not in response.content
    assert footprint(world["b"]["client"]) == before


def test_a_shared_view_of_client_b_shows_nothing_of_b(world, scoped):
    from tickets.models import SavedView

    SavedView.objects.create(
        owner=world["admin"],
        name="Bravo's",
        shared=True,
        querystring=f"queue=all&client={world['b']['client'].pk}",
    )
    response = signed_in(scoped).get(reverse("tickets:queue"))
    (view,) = response.context["saved_views"]
    assert view.count == 0
    assert b"Bravo Holdings" not in response.content and b"Bravo outage" not in response.content


def test_an_invoice_runs_summary_shows_only_the_viewers_clients(world):
    manager = StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=[world["team"]])
    url = reverse("workspace:billing-run-detail", args=[world["run"].pk])
    page = signed_in(manager).get(url).content.decode()
    assert "Alpha" in page and "Bravo" not in page and "bravo" not in page
    technician = StaffFactory(teams=[world["team"]])
    assert signed_in(technician).get(url).status_code == 403


@pytest.mark.parametrize("name", sorted(OWN_TIME_ENTRY_URLS))
def test_another_persons_time_entry_is_404(world, scoped, name):
    entry = world["a"]["time_entry"]  # the administrator's, on a client the user sees
    entry.state = TimeEntryState.DRAFT
    entry.save()
    response = signed_in(scoped).post(reverse(name, args=[entry.pk]), _form(world, "a"))
    assert response.status_code == 404
    entry.refresh_from_db()
    assert (entry.state, entry.minutes, entry.note) == ("draft", 5, "Alpha")
