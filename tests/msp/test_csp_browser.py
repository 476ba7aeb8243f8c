"""The Content-Security-Policy in a real browser: the main pages of the workspace, the portal,
the admin and the API docs load without a single violation (no inline script, event handler or
un-nonced style), and what used to be inline (auto-submitting filters, htmx) still works."""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.factories import ContactFactory, ReportFactory, TicketFactory
from tests.factories.msp import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Playwright's init scripts are not subject to the page's policy: this records every violation
# the page reports, in addition to the "Refused to ..." console errors.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


@pytest.fixture
def watched(browser, live_server):
    """Opens pages and collects what the browser refused on them."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )

    def visit(path: str) -> None:
        response = page.goto(path)
        assert response.status == 200, (path, response.status)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        refused.extend(f"{path}: {v}" for v in page.evaluate("window.__cspViolations"))

    page.visit = visit
    page.refused = refused
    yield page
    context.close()


def sign_in(page, email: str) -> None:
    page.visit("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def test_staff_pages_admin_and_api_docs_load_without_violations(
    watched, policy, admin_user, client_a
):
    ContactFactory(client=client_a, full_name="Paula Caller")
    ticket = TicketFactory(client=client_a, subject="Printer on fire")
    report = ReportFactory(client=client_a)
    page = watched
    sign_in(page, admin_user.email)

    for path in [
        "/workspace/tickets/",
        f"/workspace/tickets/{ticket.pk}/",
        "/workspace/tickets/new/",
        "/workspace/clients/",
        f"/workspace/clients/{client_a.slug}/",
        "/workspace/contracts/",
        "/workspace/reports/",
        f"/workspace/reports/{report.pk}/",
        "/workspace/sla/calendars/",
        "/workspace/notifications/",
        "/accounts/api-tokens/",
        "/accounts/mfa/",  # with the passkey scripts
        "/accounts/mfa/app/",  # the QR code, an inline SVG
        "/admin/",
        "/admin/msp/client/",
        f"/admin/msp/client/{client_a.pk}/change/",
        "/api/v1/",
        "/api/v1/docs/",
        "/api/v1/redoc/",
    ]:
        page.visit(path)
    assert page.refused == [], "\n".join(page.refused)

    # The report's charts keep their own styles (their <style> carries the nonce).
    page.visit(f"/workspace/reports/{report.pk}/")
    title = page.locator("[data-testid=report] svg .title").first
    assert title.evaluate("el => getComputedStyle(el).fontSize") == "13px"
    # The filters that submitted through inline onchange handlers still do.
    page.visit("/workspace/contracts/")
    page.get_by_label("Status").select_option(index=1)
    page.wait_for_url("**/workspace/contracts/?status=*")
    # htmx: the phone intake narrows the contacts to the client picked.
    page.visit("/workspace/tickets/new/")
    page.get_by_label("Client", exact=True).select_option(label=client_a.name)
    contact = page.get_by_label("Contact", exact=True).locator("option", has_text="Paula Caller")
    expect(contact).to_have_count(1)
    assert page.refused == [], "\n".join(page.refused)


def test_portal_pages_load_without_violations(watched, policy, client_a, client_user_a):
    TicketFactory(client=client_a, subject="Mail server down")
    ContactFactory(client=client_a, email="erin@acme.example", receives_reports=True)
    report = ReportFactory(client=client_a, sent=True)
    page = watched
    sign_in(page, client_user_a.email)
    for path in [
        "/portal/",
        "/portal/tickets/",
        "/portal/tickets/new/",
        "/portal/sla/",
        "/portal/reports/",
        f"/portal/reports/{report.pk}/",
    ]:
        page.visit(path)
    assert page.refused == [], "\n".join(page.refused)


def test_the_second_sign_in_step_loads_without_violations(watched, technician):
    from django_otp_webauthn.models import WebAuthnCredential

    TOTPDevice.objects.create(user=technician, name="Phone", confirmed=True)
    WebAuthnCredential.objects.create(
        user=technician, name="Laptop", confirmed=True, credential_id=b"x", public_key=b"y"
    )
    page = watched
    sign_in(page, technician.email)
    page.visit("/accounts/mfa/verify/")
    assert page.get_by_role("button", name="Use a passkey").count() == 1
    assert page.refused == [], "\n".join(page.refused)
