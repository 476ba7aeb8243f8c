"""One seeded dataset and the pages of it that each role reaches, for the browser checks of
the whole interface (accessibility, phone widths): client A with one of everything, a contract
on every rung of the governance ladder, a ticket with a conversation and a sent report."""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from contracts.choices import ContractStatus, LadderStep
from contracts.models import MonthlyEvaluation
from msp.choices import UserRole
from sla.models import BusinessCalendar, SLAPolicy
from tests.factories import (
    AssetFactory,
    ClientUserFactory,
    ContactFactory,
    ContractFactory,
    ReportFactory,
    SiteFactory,
    StaffFactory,
)
from tests.factories.msp import PASSWORD
from tickets import services
from tickets.models import UnroutedAlert

ROLES = ["technician", "dispatcher", "account_manager", "admin", "client"]


@pytest.fixture
def world(policy, client_a):
    """Everything the pages show, with client A's people of every role."""
    people = {
        "technician": StaffFactory(role=UserRole.TECHNICIAN, full_name="Tess Technician"),
        "dispatcher": StaffFactory(role=UserRole.DISPATCHER, tier="", full_name="Dan Dispatch"),
        "account_manager": StaffFactory(
            role=UserRole.ACCOUNT_MANAGER, tier="", full_name="Alma Accounts"
        ),
        "admin": StaffFactory(
            role=UserRole.ADMIN, tier="", is_staff=True, is_superuser=True, full_name="Ada Admin"
        ),
        "client": ClientUserFactory(client=client_a, full_name="Carla Client"),
    }
    client_a.account_manager = people["account_manager"]
    client_a.save()
    contact = ContactFactory(client=client_a, full_name="Paula Caller", receives_reports=True)
    site = SiteFactory(client=client_a, name="Head office")
    asset = AssetFactory(client=client_a, name="SRV-01")
    october = datetime(2026, 10, 6, 14, tzinfo=UTC)
    for number in range(3):
        services.ticket_open(
            client=client_a, subject=f"October issue {number}", contact=contact, at=october
        )
    ticket = services.ticket_open(
        client=client_a,
        contact=contact,
        site=site,
        asset=asset,
        subject="Mail server down",
        description="Nobody at head office receives mail since 9:00.",
        impact="high",
        urgency="high",
        assignee=people["technician"],
    )
    services.ticket_reply(ticket=ticket, author=people["technician"], body="Looking into it.")
    services.ticket_note(ticket=ticket, author=people["technician"], body="Disk full on SRV-01.")
    services.ticket_open(client=client_a, subject="New laptop for Sam", contact=contact)
    contract = ContractFactory(client=client_a, number="C-0001", status=ContractStatus.ACTIVE)
    for month, step in enumerate(LadderStep.values, start=1):
        MonthlyEvaluation.objects.create(
            contract=contract,
            month=date(2026, month, 1),
            ladder_step=step,
            consecutive_missed_months=month - 1,
            currency="USD",
        )
    report = ReportFactory(client=client_a, sent=True)
    UnroutedAlert.objects.create(
        source="zabbix",
        fingerprint="disk-full",
        status="firing",
        severity="critical",
        summary="Disk full on unknown-01",
        reason="unknown host",
        sender=people["admin"],
        received_at=datetime(2026, 11, 30, 8, tzinfo=UTC),
    )
    return {
        "people": people,
        "client": client_a,
        "ticket": ticket,
        "contract": contract,
        "report": report,
        "calendar": BusinessCalendar.objects.order_by("pk").first(),
        "policy": SLAPolicy.objects.get(is_default=True),
    }


def object_pages(world, role: str) -> list[str]:
    """The pages of single objects a role opens, besides those its navigation lists."""
    if role == "client":
        return [
            reverse("portal:ticket-detail", args=[world["ticket"].pk]),
            reverse("portal:report-detail", args=[world["report"].pk]),
            reverse("portal:home"),
            reverse("api-tokens"),
            reverse("mfa-setup"),
        ]
    pages = [
        reverse("tickets:detail", args=[world["ticket"].pk]),
        reverse("workspace:client-detail", args=[world["client"].slug]),
        reverse("contracts:detail", args=[world["contract"].pk]),
        reverse("reporting:detail", args=[world["report"].pk]),
        reverse("sla:calendar-detail", args=[world["calendar"].pk]),
        reverse("workspace:notification-list"),
        reverse("api-tokens"),
        reverse("mfa-setup"),
    ]
    if role == "admin":
        pages += [
            reverse("sla:escalation-rules", args=[world["policy"].pk]),
            reverse("sla:policy-edit", args=[world["policy"].pk]),
            reverse("contracts:edit", args=[world["contract"].pk]),
            reverse("contracts:create"),
            reverse("sla:calendar-edit", args=[world["calendar"].pk]),
            reverse("sla:calendar-create"),
            reverse("sla:policy-create"),
            reverse("workspace:webhook-settings"),
            # The directory and its configuration (lists and forms).
            *(
                reverse(f"workspace:{name}")
                for name in [
                    "client-create",
                    "site-list",
                    "contact-list",
                    "contact-create",
                    "asset-list",
                    "asset-create",
                    "person-list",
                    "person-create",
                    "team-list",
                    "priority-matrix",
                    "mailbox-list",
                    "mailbox-create",
                ]
            ),
        ]
    return pages


def sign_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def navigation_pages(page) -> list[str]:
    """Every page the signed-in user's main navigation links to (the Django admin aside)."""
    hrefs = (
        page.get_by_role("list", name="Main")
        .get_by_role("link")
        .evaluate_all("links => links.map(link => link.getAttribute('href'))")
    )
    return [href for href in hrefs if not href.startswith("/admin/")]
