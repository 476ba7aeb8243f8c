"""The ticket page in a real browser, as two technicians working the same ticket: presence, a
reply arriving without reload, the stale-write warning with the text kept; the two composers,
a canned response, a pasted screenshot; and axe-core on the page."""

import re

import pytest
from playwright.sync_api import expect

from msp.choices import UserRole
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import serious_violations
from tests.factories import ContactFactory, StaffFactory
from tickets import services
from tickets.models import CannedResponse, Comment

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ticket(policy, client_a, settings):
    settings.LIVE_POLL_SECONDS = 1  # the page polls every second in these tests
    settings.LIVE_PRESENCE_SECONDS = 20
    contact = ContactFactory(client=client_a, full_name="Paula Caller")
    return services.ticket_open(
        client=client_a, contact=contact, subject="Mail server down", impact="high"
    )


@pytest.fixture
def alex(db):
    return StaffFactory(role=UserRole.TECHNICIAN, full_name="Alex Able")


@pytest.fixture
def sam(db):
    return StaffFactory(role=UserRole.TECHNICIAN, full_name="Sam Second")


def open_as(browser, live_server, user, ticket):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(30_000)  # a loaded machine
    page = context.new_page()
    sign_in(page, user)
    page.goto(f"/workspace/tickets/{ticket.pk}/")
    return context, page


def test_two_technicians_on_one_ticket(browser, live_server, ticket, alex, sam):
    context_a, alex_page = open_as(browser, live_server, alex, ticket)
    context_b, sam_page = open_as(browser, live_server, sam, ticket)
    try:
        presence = sam_page.get_by_test_id("presence")
        expect(presence).to_contain_text("Alex Able is viewing")
        # Sam starts a reply; Alex sees Sam replying at the next poll.
        sam_page.locator("#replyform_body").fill("Sam's draft: please restart the router")
        sam_page.locator("#replyform_body").press("End")
        expect(alex_page.get_by_test_id("presence")).to_contain_text(
            "Sam Second is replying", timeout=15_000
        )
        # Sam's page is never reloaded: a mark left on it must still be there at the end.
        sam_page.evaluate("window.__notReloaded = true")
        alex_page.locator("#replyform_body").fill("Restarted the mail service.")
        alex_page.get_by_role("button", name="Send reply to client").click()
        expect(alex_page.get_by_test_id("timeline")).to_contain_text("Restarted the mail service")
        expect(sam_page.get_by_test_id("timeline")).to_contain_text(
            "Restarted the mail service", timeout=8_000
        )
        assert sam_page.evaluate("window.__notReloaded") is True
        # What Sam typed was not touched by the live update ...
        expect(sam_page.locator("#replyform_body")).to_have_value(
            "Sam's draft: please restart the router"
        )
        # ... and sending it now is refused once, with the text kept.
        sam_page.get_by_role("button", name="Send reply to client").click()
        expect(sam_page.get_by_test_id("stale-warning")).to_have_text(
            "Alex Able replied while you were typing - review and send again."
        )
        expect(sam_page.locator("#replyform_body")).to_have_value(
            "Sam's draft: please restart the router"
        )
        assert not Comment.objects.filter(body__startswith="Sam's draft").exists()
        sam_page.get_by_role("button", name="Send reply to client").click()
        expect(sam_page.get_by_test_id("timeline")).to_contain_text("please restart the router")
        expect(sam_page.locator("#replyform_body")).to_have_value("")
        assert Comment.objects.filter(body__startswith="Sam's draft", is_public=True).count() == 1
    finally:
        context_a.close()
        context_b.close()


def test_composers_canned_response_and_pasted_screenshot(browser, live_server, ticket, alex):
    CannedResponse.objects.create(
        owner=None,
        title="Greeting",
        body="Hello {{contact.first_name}}, about {{ticket.number}}. {{contact.nickname}}",
    )
    context, page = open_as(browser, live_server, alex, ticket)
    try:
        reply = page.locator("#composer-reply")
        note = page.locator("#composer-note")
        expect(reply).to_be_visible()
        expect(note).to_be_hidden()
        expect(reply).to_contain_text("Public reply - the client sees this")
        page.get_by_role("tab", name="Internal note").click()
        expect(note).to_be_visible()
        expect(reply).to_be_hidden()
        expect(note).to_contain_text("Internal note - staff only")
        colours = [
            form.evaluate("el => getComputedStyle(el).backgroundColor") for form in (note, reply)
        ]
        page.get_by_role("tab", name="Public reply").click()
        colours[1] = reply.evaluate("el => getComputedStyle(el).backgroundColor")
        assert colours[0] != colours[1], colours  # the note looks different
        page.get_by_role("tab", name="Internal note").click()
        page.locator("#noteform_body").fill("Disk full on SRV-01, cleaning up.")
        page.get_by_role("button", name="Add internal note").click()
        expect(page.locator(".timeline-event.internal")).to_contain_text("Disk full on SRV-01")
        assert Comment.objects.get(body__startswith="Disk full").is_public is False

        # A canned response, its placeholders filled, the unknown one pointed out.
        page.get_by_role("tab", name="Public reply").click()
        reply.get_by_text("Insert canned response").click()
        reply.get_by_role("button", name="Greeting").click()
        expect(page.locator("#replyform_body")).to_have_value(
            re.compile(rf"^Hello Paula, about \\#{ticket.pk}\. \{{\{{contact\.nickname\}}\}}")
        )
        expect(reply.locator("[data-composer-unknown]")).to_contain_text("{{contact.nickname}}")

        # A screenshot pasted into the composer becomes one of its files.
        page.locator("#replyform_body").evaluate(
            """field => {
                const bytes = Uint8Array.from(atob(
                  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
                ), c => c.charCodeAt(0));
                const data = new DataTransfer();
                data.items.add(new File([bytes], "image.png", {type: "image/png"}));
                const paste = {clipboardData: data, bubbles: true};
                field.dispatchEvent(new ClipboardEvent("paste", paste));
            }"""
        )
        expect(reply.locator("[data-composer-filelist]")).to_contain_text("screenshot-")
        assert page.locator("#replyform_attachments").evaluate("input => input.files.length") == 1
        page.get_by_role("button", name="Send reply to client").click()
        expect(page.get_by_test_id("timeline")).to_contain_text("Hello Paula")
        comment = Comment.objects.get(body__startswith="Hello Paula")
        assert comment.is_public
        names = [attachment.filename for attachment in comment.attachments.all()]
        assert len(names) == 1 and re.fullmatch(r"screenshot-\d{8}T\d{6}\.png", names[0]), names
    finally:
        context.close()


def test_markdown_preview(browser, live_server, ticket, alex):
    context, page = open_as(browser, live_server, alex, ticket)
    try:
        page.locator("#replyform_body").fill("**Bold** and <script>alert(1)</script>")
        page.locator("#composer-reply").get_by_role("button", name="Preview").click()
        preview = page.locator("#composer-reply-preview")
        expect(preview).to_be_visible()
        expect(preview.locator("strong")).to_have_text("Bold")
        assert preview.locator("script").count() == 0
        page.locator("#composer-reply").get_by_role("button", name="Write").click()
        expect(page.locator("#replyform_body")).to_be_visible()
    finally:
        context.close()


def test_ticket_page_has_no_serious_accessibility_violation(browser, live_server, ticket, alex):
    services.ticket_reply(ticket=ticket, author=alex, body="Looking into it.")
    services.ticket_note(ticket=ticket, author=alex, body="Internal: disk full.")
    context, page = open_as(browser, live_server, alex, ticket)
    try:
        assert serious_violations(page) == []
        page.get_by_role("tab", name="Internal note").click()
        assert serious_violations(page) == []
    finally:
        context.close()


def test_queue_updates_without_reload_unless_rows_are_ticked(
    browser, live_server, ticket, alex, sam
):
    context, page = open_as(browser, live_server, alex, ticket)
    try:
        page.goto("/workspace/tickets/?queue=all_open")
        row = page.locator(f"tr[data-ticket='{ticket.pk}']")
        expect(row).to_contain_text("Mail server down")
        page.evaluate("window.__notReloaded = true")
        services.ticket_assign(ticket=ticket, actor=sam, assignee=sam)
        expect(row).to_contain_text("Sam Second", timeout=8_000)
        assert page.evaluate("window.__notReloaded") is True
        # A ticked row keeps the results as they are (and the box ticked) until it is unticked.
        box = row.locator("input[type=checkbox]").first
        box.check()
        services.ticket_assign(ticket=ticket, actor=alex, assignee=alex)
        page.wait_for_timeout(3_000)  # three polls at one second
        expect(row).to_contain_text("Sam Second")
        expect(box).to_be_checked()
        box.uncheck()
        page.locator("body").click(position={"x": 5, "y": 5})
        expect(row).to_contain_text("Alex Able", timeout=8_000)
    finally:
        context.close()
