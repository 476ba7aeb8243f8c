"""Search everywhere in a real browser: typing in the search box of the queue page offers
tickets as you type; arrow down and Enter open one, Escape closes the list; the results page
has no serious or critical axe-core finding; a technician's navigation has no configuration."""

import pytest
from playwright.sync_api import expect

from msp.choices import UserRole
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import serious_violations
from tests.factories import ClientFactory, ContactFactory, StaffFactory
from tickets.services import ticket_note, ticket_open

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def found(policy):
    client = ClientFactory(name="Globex Logistics")
    technician = StaffFactory(role=UserRole.TECHNICIAN, full_name="Tess Technician")
    ContactFactory(client=client, full_name="Printer Pat")
    older = ticket_open(client=client, subject="Printer on floor 2 jams", assignee=technician)
    newer = ticket_open(client=client, subject="Printer toner empty", assignee=technician)
    ticket_note(ticket=older, author=technician, body="Ordered a fuser for the printer.")
    return {"technician": technician, "older": older, "newer": newer}


def test_type_choose_with_the_arrow_keys_and_open_a_ticket(page, found):
    sign_in(page, found["technician"])
    box = page.get_by_role("combobox", name="Search tickets, clients, contacts and assets")
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press_sequentially("print", delay=40)
    options = page.get_by_role("listbox", name="Suggestions").get_by_role("option")
    expect(options.first).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    # The jam first (its subject and a note), then the toner; then the contact, and "all".
    expect(options).to_have_count(4)
    expect(options.nth(0)).to_contain_text("Printer on floor 2 jams")
    expect(options.nth(1)).to_contain_text("Printer toner empty")
    expect(page.get_by_role("status")).to_contain_text("3 suggestions")

    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", options.nth(1).get_attribute("id"))
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press("ArrowDown")  # opens again, on the first option
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    box.press("ArrowUp")  # round to the last: every result
    expect(options.nth(3)).to_have_attribute("aria-selected", "true")
    box.press("ArrowDown")  # round to the first
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    page.wait_for_url(f"**/workspace/tickets/{found['newer'].pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Printer toner empty")


def test_enter_without_a_choice_shows_every_result_and_it_is_accessible(page, found):
    sign_in(page, found["technician"])
    box = page.get_by_role("combobox", name="Search tickets, clients, contacts and assets")
    box.fill("fuser")
    box.press("Enter")
    page.wait_for_url("**/workspace/search/?q=fuser")
    results = page.get_by_test_id("search-tickets")
    expect(results).to_contain_text("Printer on floor 2 jams")
    expect(results).to_contain_text("found in the internal note")
    expect(results.locator("mark")).to_have_text("fuser")
    page.goto("/workspace/search/?q=printer")
    expect(page.get_by_test_id("search-contacts")).to_contain_text("Printer Pat")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
        page.wait_for_function(
            "scheme => document.documentElement.dataset.bsTheme === scheme", arg=scheme
        )
        assert serious_violations(page) == [], scheme
    # The list of suggestions, open, is checked too.
    box.press_sequentially("prin", delay=40)
    expect(page.get_by_role("listbox", name="Suggestions")).to_be_visible()
    assert serious_violations(page) == []


def test_a_ticket_number_opens_the_ticket(page, found):
    sign_in(page, found["technician"])
    box = page.get_by_role("combobox", name="Search tickets, clients, contacts and assets")
    box.fill(f"T-{found['newer'].pk}")
    box.press("Enter")
    page.wait_for_url(f"**/workspace/tickets/{found['newer'].pk}/")


def test_a_technicians_navigation_has_no_configuration(page, found):
    sign_in(page, found["technician"])
    navigation = page.get_by_role("list", name="Main")
    expect(navigation.get_by_role("link", name="Tickets")).to_be_visible()
    for name in ("Calendars", "SLA policies", "Contracts", "Reports", "My accounts", "Webhooks"):
        expect(navigation.get_by_role("link", name=name)).to_have_count(0)
