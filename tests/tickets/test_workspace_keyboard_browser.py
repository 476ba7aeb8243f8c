"""The queue's triage and the keyboard in a real browser: a dispatcher bulk-assigns twenty
tickets and reads the summary; a merge shows its preview and waits for confirmation; j/k,
Enter, x and ? work on the queue, r and e on the ticket page, with a visible focus ring; and
axe-core finds no serious or critical violation on the queue and the merge preview."""

import pytest
from django.urls import reverse

from msp.choices import UserRole
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import serious_violations
from tests.factories import ContactFactory, StaffFactory
from tickets import services
from tickets.models import SavedView, Ticket

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(policy, client_a):
    dispatcher = StaffFactory(role=UserRole.DISPATCHER, tier="", full_name="Dan Dispatch")
    technician = StaffFactory(role=UserRole.TECHNICIAN, full_name="Tess Technician")
    contact = ContactFactory(client=client_a, full_name="Paula Caller")
    tickets = [
        services.ticket_open(client=client_a, contact=contact, subject=f"Printer {n:02d}")
        for n in range(25)
    ]
    return {"dispatcher": dispatcher, "technician": technician, "tickets": tickets}


def test_a_dispatcher_bulk_assigns_twenty_tickets(page, desk):
    sign_in(page, desk["dispatcher"])
    page.goto(reverse("tickets:queue") + "?per_page=25")
    boxes = page.locator("[data-row-select]")
    assert boxes.count() == 25
    for index in range(20):
        boxes.nth(index).check()
    assert page.locator("[data-bulk-count]").inner_text() == "20 selected"
    ticked = [
        int(v)
        for v in page.locator("[data-row-select]:checked").evaluate_all(
            "boxes => boxes.map(box => box.value)"
        )
    ]
    page.get_by_label("Assign to").select_option(label="Tess Technician")
    page.get_by_role("button", name="Assign", exact=True).click()
    summary = page.get_by_role("alert").filter(has_text="Assigned to Tess Technician")
    assert "20 ticket(s)" in summary.inner_text()
    assert "Refused" not in summary.inner_text()
    assert sorted(ticked) == sorted(
        Ticket.objects.filter(assignee=desk["technician"]).values_list("pk", flat=True)
    )
    names = page.locator("[data-testid=row-assignee]").all_inner_texts()
    assert names.count("Tess Technician") == 20


def test_select_all_then_take_one_row(page, desk):
    sign_in(page, desk["dispatcher"])
    page.goto(reverse("tickets:queue") + "?per_page=25")
    page.get_by_label("Select every ticket on this page").check()
    assert page.locator("[data-bulk-count]").inner_text() == "25 selected"
    first = page.locator("tr.queue-row").first
    number = int(first.get_attribute("data-ticket"))
    first.get_by_role("button", name=f"Assign #{number} to me").click()
    row = page.locator(f'tr.queue-row[data-ticket="{number}"]')
    row.locator("[data-testid=row-assignee]").filter(has_text="Dan Dispatch").wait_for()
    assert Ticket.objects.get(pk=number).assignee == desk["dispatcher"]


def test_merge_shows_the_preview_and_waits_for_confirmation(page, desk):
    duplicate, target = desk["tickets"][:2]
    services.ticket_reply(ticket=duplicate, author=desk["technician"], body="On it")
    sign_in(page, desk["technician"])
    page.goto(reverse("tickets:detail", args=[duplicate.pk]))
    panel = page.locator('details[data-action="merge_form"]')
    panel.locator("summary").click()
    panel.get_by_label("Merge into ticket number").fill(str(target.pk))
    panel.get_by_role("button", name="Merge").click()
    preview = page.locator("[data-testid=confirm-preview]")
    preview.wait_for()
    assert "Printer 00" in preview.locator("[data-testid=merge-source]").inner_text()
    assert "Printer 01" in preview.locator("[data-testid=merge-target]").inner_text()
    assert "1 public reply" in preview.inner_text()
    assert Ticket.objects.get(pk=duplicate.pk).merged_into is None  # nothing done yet
    assert serious_violations(page) == []
    page.locator("[data-testid=confirm-button]").click()
    page.get_by_text("Merged.").wait_for()
    assert Ticket.objects.get(pk=duplicate.pk).merged_into_id == target.pk


def test_queue_keyboard_and_visible_focus(page, desk):
    sign_in(page, desk["technician"])
    page.goto(reverse("tickets:queue") + "?per_page=25")
    page.locator("body").click(position={"x": 5, "y": 5})
    rows = page.locator("tr.queue-row")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    first = rows.nth(0)
    assert "is-current" in first.get_attribute("class")
    focused = page.evaluate(
        "() => { const el = document.activeElement; const s = getComputedStyle(el);"
        " return [el.dataset.ticket, s.outlineStyle, s.outlineWidth]; }"
    )
    assert focused == [first.get_attribute("data-ticket"), "solid", "3px"]
    page.keyboard.press("x")
    assert first.locator("[data-row-select]").is_checked()
    assert page.locator("[data-bulk-count]").inner_text() == "1 selected"
    page.keyboard.press("x")
    assert not first.locator("[data-row-select]").is_checked()
    # Typing in a field is typing, not a shortcut.
    page.locator("#id_q").focus()
    page.keyboard.type("jjk")
    assert page.locator("#id_q").input_value() == "jjk"
    page.locator("#id_q").fill("")
    first.focus()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    assert dialog.is_visible() and "Assign the current ticket to me" in dialog.inner_text()
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    number = first.get_attribute("data-ticket")
    first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/workspace/tickets/{number}/")


def test_ticket_page_keys_open_the_forms(page, desk):
    ticket = desk["tickets"][0]
    sign_in(page, desk["technician"])
    page.goto(reverse("tickets:detail", args=[ticket.pk]))
    page.locator("h1").click()
    page.keyboard.press("r")
    assert page.evaluate("() => document.activeElement.tagName") == "TEXTAREA"
    page.keyboard.type("r is typed here")
    assert "r is typed here" in page.evaluate("() => document.activeElement.value")
    page.locator("h1").click()
    page.keyboard.press("e")
    assert page.locator('details[data-action="escalate_form"]').evaluate("d => d.open")
    assert page.evaluate("() => document.activeElement.closest('details')?.dataset.action") == (
        "escalate_form"
    )
    page.locator("h1").click()
    page.keyboard.press("a")
    page.locator("[data-testid=assignee]").filter(has_text="Tess Technician").wait_for()
    assert Ticket.objects.get(pk=ticket.pk).assignee == desk["technician"]


def test_queue_page_is_accessible(page, desk):
    SavedView.objects.create(owner=desk["dispatcher"], name="P4s", querystring="priority=P4")
    sign_in(page, desk["dispatcher"])
    chosen = desk["tickets"][0].pk
    page.goto(f"{reverse('tickets:queue')}?per_page=25&sort=-priority&selected={chosen}")
    assert serious_violations(page) == []
    page.emulate_media(color_scheme="dark", reduced_motion="reduce")
    page.reload()
    assert serious_violations(page) == []
