"""The portal on a phone (390 x 844, touch): a client stakeholder signs in from an email link,
lands on the SLA dashboard, opens a ticket, then a report through the collapsed menu; no page
is wider than the screen, the menu opens and closes, and the open tickets read as cards."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_a_client_walks_from_the_dashboard_to_a_ticket_and_a_report_on_a_phone(phone, world):
    page = phone
    sign_in(page, world["people"]["client"])
    page.wait_for_url("**/portal/sla/")
    assert "so far" in page.get_by_role("heading", level=1).inner_text()
    assert page_width(page) <= PHONE["width"]
    # The navigation is folded behind the menu button, which the bar shows in full contrast.
    main_nav = page.get_by_role("list", name="Main")
    expect(main_nav).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    # Each open ticket is a card as wide as the screen, not a row of a table wider than it.
    tickets = page.get_by_test_id("open-tickets")
    row = tickets.locator("tbody tr").filter(has_text="Mail server down")
    box = row.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    deadline = row.locator("td[data-label='Next deadline']")
    label = deadline.evaluate("td => getComputedStyle(td, '::before').content")
    assert "Next deadline" in label  # each value says what it is, as the header did
    expect(page.get_by_test_id("headlines")).to_be_visible()

    row.get_by_role("link").click()
    page.wait_for_url(f"**/portal/tickets/{world['ticket'].pk}/")
    expect(page.get_by_test_id("ticket-title")).to_contain_text("Mail server down")
    expect(page.get_by_test_id("conversation")).to_contain_text("Looking into it.")
    assert "Disk full" not in page.content()  # the internal note stays internal
    assert page_width(page) <= PHONE["width"]

    menu.click()
    expect(main_nav).to_be_visible()
    main_nav.get_by_role("link", name="Reports").click()
    page.wait_for_url("**/portal/reports/")
    assert page_width(page) <= PHONE["width"]
    page.get_by_test_id("portal-reports").get_by_role("link").first.click()
    page.wait_for_url(f"**/portal/reports/{world['report'].pk}/")
    expect(page.get_by_test_id("report-title")).to_be_visible()
    expect(page.get_by_test_id("compliance")).to_be_visible()
    assert page_width(page) <= PHONE["width"]


def test_a_technician_works_the_queue_on_a_phone(phone, world):
    page = phone
    sign_in(page, world["people"]["technician"])
    page.wait_for_url("**/workspace/tickets/?queue=mine")
    assert page_width(page) <= PHONE["width"]
    page.get_by_test_id("queue").get_by_role("link", name="Mail server down").click()
    page.wait_for_url(f"**/workspace/tickets/{world['ticket'].pk}/")
    expect(page.get_by_role("button", name="Send reply to client")).to_be_visible()
    assert page_width(page) <= PHONE["width"]
