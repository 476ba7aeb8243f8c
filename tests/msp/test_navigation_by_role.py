"""Navigation by role (msp/context_processors.py) and where each role lands (msp.views.home):
every entry a role sees opens (200) for that role; an entry whose page refuses the role is
never shown; technicians are not offered the account managers' pages and the configuration;
a technician starts on their own tickets, a dispatcher on the unassigned ones."""

import re

import pytest
from django.urls import reverse

from msp.choices import UserRole
from msp.context_processors import WORKSPACE_ENTRIES
from tests.factories import ClientFactory, ClientUserFactory, StaffFactory
from tests.helpers import signed_in
from tickets.selectors import Queue

pytestmark = pytest.mark.django_db

STAFF_ROLES = ["technician", "dispatcher", "account_manager", "admin"]
ROLES = [*STAFF_ROLES, "client"]

# What a technician is not offered: pages of account managers and configuration.
NOT_FOR_TECHNICIANS = {
    "My accounts",
    "Contracts",
    "Reports",
    "Billing",
    "Calendars",
    "SLA policies",
    "Unrouted alerts",
    "Audit trail",
    "Webhooks",
    "Sent mail",
    "Django admin",
}


@pytest.fixture
def people(policy, settings, tmp_path):
    settings.DEBUG = True  # Sent mail exists only while email goes to files, in development
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    client = ClientFactory(name="Acme")
    return {
        "technician": StaffFactory(role=UserRole.TECHNICIAN),
        "dispatcher": StaffFactory(role=UserRole.DISPATCHER, tier=""),
        "account_manager": StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier=""),
        "admin": StaffFactory(role=UserRole.ADMIN, tier="", is_staff=True, is_superuser=True),
        "client": ClientUserFactory(client=client),
    }


def navigation(html: str) -> dict[str, str]:
    """{label: href} of the main navigation of a page."""
    main = re.search(r'<ul class="navbar-nav me-auto" aria-label="Main">(.*?)</ul>', html, re.S)
    assert main, "no main navigation"
    return {
        label.strip(): href
        for href, label in re.findall(
            r'<a class="nav-link[^"]*" href="([^"]+)"[^>]*>([^<]+)</a>', main.group(1)
        )
    }


def _home(http) -> str:
    response = http.get(reverse("home"), follow=True)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_every_entry_a_role_sees_opens_for_it(people, role):
    http = signed_in(people[role])
    entries = navigation(_home(http))
    assert len(entries) >= 4
    for label, href in entries.items():
        assert http.get(href).status_code == 200, (role, label, href)


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_no_entry_is_shown_to_a_role_its_page_refuses(people, role):
    http = signed_in(people[role])
    shown = navigation(_home(http))
    for label, name, _ in WORKSPACE_ENTRIES:
        if http.get(reverse(name)).status_code != 200:
            assert label not in shown, (role, label)


def test_technicians_see_the_ticket_work_only(people):
    http = signed_in(people["technician"])
    shown = navigation(_home(http))
    assert set(shown) == {"Tickets", "New ticket", "SLA risk", "Timesheet", "Clients"}
    assert not set(shown) & NOT_FOR_TECHNICIANS
    # Not offered is not forbidden: a technician still reads a report or a calendar from a
    # client's page or a link (their pages' own rules, tests/msp/test_workspace_isolation.py).
    assert http.get(reverse("sla:calendar-list")).status_code == 200


def test_the_others_keep_their_entries(people):
    expected = {
        "dispatcher": {"My accounts", "Contracts", "Reports", "Calendars", "SLA policies",
                       "Unrouted alerts"},
        "account_manager": {"My accounts", "Contracts", "Reports", "Billing", "Calendars",
                            "SLA policies", "Time approval"},
        "admin": {"My accounts", "Contracts", "Reports", "Billing", "Calendars", "SLA policies",
                  "Unrouted alerts", "Audit trail", "Webhooks", "Sent mail", "Django admin",
                  "Time approval"},
    }  # fmt: skip
    for role, extra in expected.items():
        shown = set(navigation(_home(signed_in(people[role]))))
        assert shown == {"Tickets", "New ticket", "SLA risk", "Timesheet", "Clients"} | extra, role


def test_client_users_see_the_portal(people):
    shown = navigation(_home(signed_in(people["client"])))
    assert set(shown) == {
        "SLA dashboard", "Reports", "Invoices", "Tickets", "New ticket", "My organisation"
    }  # fmt: skip
    assert all(href.startswith("/portal/") for href in shown.values())


@pytest.mark.parametrize(
    ("role", "queue"),
    [
        ("technician", Queue.MINE),
        ("dispatcher", Queue.UNASSIGNED),
        ("account_manager", None),
        ("admin", None),
    ],
)
def test_each_role_lands_on_the_queue_of_its_job(people, role, queue):
    http = signed_in(people[role])
    response = http.get(reverse("home"))
    expected = reverse("tickets:queue") + (f"?queue={queue}" if queue else "")
    assert response.status_code == 302 and response["Location"] == expected
    page = http.get(expected).content.decode()
    active = re.search(r'<a class="nav-link active" href="\?queue=(\w+)"', page).group(1)
    assert active == (queue or Queue.ALL_OPEN)
    assert Queue.LABELS[active] in page


def test_client_users_land_on_their_sla_dashboard(people):
    response = signed_in(people["client"]).get(reverse("home"))
    assert response["Location"] == reverse("portal:sla-dashboard")
