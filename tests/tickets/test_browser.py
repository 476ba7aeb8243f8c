"""The ticket lifecycle in a real browser (Debian's chromium through Playwright)."""

import re

import pytest
from playwright.sync_api import expect

from msp.choices import Tier, UserRole
from sla.choices import ClockKind, ClockState
from tests.factories import AssetFactory, ContactFactory, StaffFactory
from tests.factories.msp import PASSWORD
from tickets.choices import TicketStatus
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/workspace/tickets/?queue=mine")  # technicians land on their own


def open_panel_and_submit(page, title: str, fill: dict, button: str) -> None:
    panel = page.locator("details", has=page.locator("summary", has_text=title))
    panel.locator("summary").click()
    for label, value in fill.items():
        field = panel.get_by_label(label, exact=True)
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    panel.get_by_role("button", name=button).click()


def queue_subjects(page, queue: str) -> list[str]:
    page.goto(f"/workspace/tickets/?queue={queue}")
    # Subject: the fifth cell, after the bulk-select box, number, priority and client.
    return page.locator("[data-testid=queue] tbody tr td:nth-child(5)").all_inner_texts()


def test_phone_ticket_lifecycle_and_queues(page, browser, live_server, policy, client_a, teams):
    l1 = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1, full_name="Lee One")
    teams[Tier.L1].members.add(l1)
    l2 = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L2, full_name="Kim Two")
    teams[Tier.L2].members.add(l2)
    contact = ContactFactory(client=client_a, full_name="Paula Caller")
    AssetFactory(client=client_a, name="SRV-FILES")

    sign_in(page, l1.email)
    # Phone intake: the client first, then its contacts and assets appear.
    page.get_by_role("link", name="New ticket").first.click()
    page.get_by_label("Client", exact=True).select_option(label=client_a.name)
    contact_field = page.get_by_label("Contact", exact=True)
    expect(contact_field.locator("option", has_text="Paula Caller")).to_have_count(1)
    contact_field.select_option(label=contact.full_name)
    page.get_by_label("Asset", exact=True).select_option(label="SRV-FILES")
    page.get_by_label("Subject").fill("Shared drive is read-only")
    page.get_by_label("Impact").select_option("medium")
    page.get_by_label("Urgency").select_option("high")
    page.get_by_role("button", name="Open ticket").click()
    expect(page.get_by_test_id("ticket-title")).to_contain_text("Shared drive is read-only")
    expect(page.get_by_test_id("priority")).to_have_text("P2")
    ticket = Ticket.objects.get()

    # Another technician (L2) does not see it in the tier queue yet; L1 does.
    other = browser.new_context(base_url=live_server.url)
    other_page = other.new_page()
    sign_in(other_page, l2.email)
    assert "Shared drive is read-only" not in queue_subjects(other_page, "tier")
    assert "Shared drive is read-only" in queue_subjects(other_page, "unassigned")

    # Reply: the response clock is met.
    reply = page.get_by_role("tabpanel", name="Public reply")
    reply.get_by_label("Message (Markdown)").fill("We are on it, **checking the NAS** now.")
    page.get_by_role("button", name="Send reply to client").click()
    expect(page.locator("[data-kind=response]")).to_have_attribute("data-state", "met")
    expect(page.get_by_test_id("timeline")).to_contain_text("checking the NAS")

    # Take it, then put it on hold: the resolution clock pauses.
    page.get_by_role("button", name="Take it").click()
    expect(page.get_by_test_id("assignee")).to_have_text("Lee One")
    assert "Shared drive is read-only" in queue_subjects(other_page, "open")
    page.goto(f"/workspace/tickets/{ticket.pk}/")
    open_panel_and_submit(
        page, "Status", {"Status": TicketStatus.WAITING_ON_CLIENT}, "Change status"
    )
    expect(page.get_by_test_id("status")).to_have_text("Waiting on client")
    expect(page.locator("[data-kind=resolution]")).to_have_attribute("data-state", "paused")

    # Log time, escalate to L2: it leaves L1's queue and reaches L2's.
    open_panel_and_submit(
        page, "Log time", {"Minutes": "25", "Note": "Checked permissions"}, "Log time"
    )
    expect(page.get_by_test_id("timeline")).to_contain_text("25 min remote support")
    open_panel_and_submit(
        page, "Escalate to next tier", {"Reason": "Needs storage admin"}, "Escalate"
    )
    expect(page.get_by_test_id("tier")).to_have_text("L2")
    assert "Shared drive is read-only" in queue_subjects(other_page, "tier")
    assert "Shared drive is read-only" not in queue_subjects(page, "mine")

    # L2 picks it up and resolves it; it leaves the open queues.
    other_page.goto(f"/workspace/tickets/{ticket.pk}/")
    other_page.get_by_role("button", name="Take it").click()
    expect(other_page.get_by_test_id("assignee")).to_have_text("Kim Two")
    assert "Shared drive is read-only" in queue_subjects(other_page, "mine")
    other_page.goto(f"/workspace/tickets/{ticket.pk}/")
    open_panel_and_submit(
        other_page, "Resolve", {"Resolution": "Remounted the share read-write."}, "Resolve"
    )
    expect(other_page.get_by_test_id("status")).to_have_text("Resolved")
    expect(other_page.locator("[data-kind=resolution]")).to_have_attribute(
        "data-state", re.compile("met|breached")
    )
    assert "Shared drive is read-only" not in queue_subjects(other_page, "open")
    other.close()

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED and ticket.tier == Tier.L2
    assert ticket.sla_clocks.get(kind=ClockKind.RESPONSE).state == ClockState.MET
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds.count("escalated") == 1 and kinds.count("time_logged") == 1
