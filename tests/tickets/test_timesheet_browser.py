"""The timer and the week's approval in a real browser: a technician times work on a ticket,
finds it on their timesheet with the day's total, submits the week; their account manager
approves it; the technician sees it approved and locked. axe-core checks both pages."""

import re

import pytest
from playwright.sync_api import expect

from msp.choices import UserRole
from tests.browser.test_accessibility import serious_violations
from tests.factories import ContactFactory, StaffFactory
from tests.factories.msp import PASSWORD
from tickets import services
from tickets.models import TimeEntry

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in_page(browser, live_server, email: str):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(30_000)  # a busy 2-core machine is slow to serve the first page
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/workspace/.*"))
    return page


def test_timer_to_timesheet_to_approval(browser, live_server, policy, client_a):
    technician = StaffFactory(role=UserRole.TECHNICIAN, full_name="Tess Timer")
    manager = StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", full_name="Alma Approver")
    client_a.account_manager = manager
    client_a.save()
    ticket = services.ticket_open(
        client=client_a,
        contact=ContactFactory(client=client_a),
        subject="Scanner share full",
        assignee=technician,
    )

    page = signed_in_page(browser, live_server, technician.email)
    page.goto(f"/workspace/tickets/{ticket.pk}/")
    timer = page.get_by_test_id("ticket-timer")
    timer.get_by_role("button", name="Start timer").click()
    expect(page.get_by_role("alert").filter(has_text="Timer started")).to_be_visible()
    elapsed = page.get_by_test_id("timer-elapsed")
    expect(elapsed).to_have_text(re.compile(r"^0:00:0\d$"))
    first = elapsed.inner_text()
    expect(elapsed).not_to_have_text(first, timeout=3_000)  # it ticks
    page.get_by_role("button", name="Stop timer").click()
    expect(page.get_by_role("alert").filter(has_text="1 min logged")).to_be_visible()
    entry = TimeEntry.objects.get()
    assert (entry.minutes, entry.state, entry.ticket_id) == (1, "draft", ticket.pk)

    page.get_by_role("link", name="My timesheet").click()
    row = page.locator(f"[data-entry='{entry.pk}']")
    expect(row).to_contain_text("Scanner share full")
    expect(row.get_by_test_id("entry-state")).to_have_text("Draft")
    day = page.locator(f"tbody[data-day='{entry.spent_on:%Y-%m-%d}']")
    expect(day.get_by_test_id("day-total")).to_have_text("1 min")
    expect(page.get_by_test_id("week-total")).to_have_text("1 min")
    assert serious_violations(page) == []
    page.get_by_role("button", name="Submit week (1 draft)").click()
    expect(row.get_by_test_id("entry-state")).to_have_text("Submitted")

    approver = signed_in_page(browser, live_server, manager.email)
    approver.goto("/workspace/time/approval/")
    group = approver.get_by_test_id("approval-group")
    expect(group).to_contain_text("Tess Timer")
    expect(group).to_contain_text("Scanner share full")
    assert serious_violations(approver) == []
    group.get_by_role("button", name="Approve all of this week").click()
    expect(approver.get_by_role("alert").filter(has_text="Approved 1 entries")).to_be_visible()
    expect(approver.get_by_test_id("nothing-to-approve")).to_be_visible()

    page.reload()
    expect(row.get_by_test_id("entry-state")).to_have_text("Approved")
    expect(row.get_by_test_id("locked")).to_be_visible()
    expect(row.get_by_role("link", name="Edit")).to_have_count(0)
    expect(row.get_by_role("button", name="Delete")).to_have_count(0)
    entry.refresh_from_db()
    assert (entry.state, entry.decided_by_id) == ("approved", manager.pk)
