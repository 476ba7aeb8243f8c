"""The report and dashboard pages in a real browser (Playwright driving Debian's chromium)."""

import pytest
from django.core import mail

from msp.models import OutboxMessage
from msp.services import outbox_deliver
from tests.factories import ContactFactory
from tests.factories.msp import PASSWORD
from tickets.services import ticket_open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_account_manager_prepares_a_report_the_client_then_reads(
    page, browser, live_server, client_a, client_user_a, account_manager
):
    client_a.account_manager = account_manager
    client_a.save()
    ContactFactory(
        client=client_a, full_name="Erin Reader", email="erin@acme.example", receives_reports=True
    )
    ticket_open(client=client_a, subject="Mail server down")
    sign_in(page, account_manager)
    page.get_by_role("list", name="Main").get_by_role("link", name="Reports").click()
    form = page.get_by_test_id("generate")
    form.get_by_label("Client").select_option(label=client_a.name)
    form.get_by_label("Period").select_option(index=0)  # last month
    page.get_by_role("button", name="Generate (preview)").click()
    assert "Monthly service report" in page.get_by_test_id("report-title").inner_text()
    assert page.locator("[data-testid=report] svg").count() >= 2  # the trend charts
    page.get_by_label("Account manager's summary").fill("Quiet month; one outage on the 3rd.")
    page.get_by_role("button", name="Save summary").click()
    page.get_by_test_id("send").click()
    assert page.get_by_label("Erin", exact=False).is_checked()  # a report recipient: ticked
    page.get_by_role("button", name="Review recipients").click()
    assert "erin@acme.example" in page.get_by_test_id("confirm-recipients").inner_text()
    page.get_by_role("button", name="Send to 1 contact").click()
    assert "Sent to 1 recipient" in page.get_by_role("alert").inner_text()
    outbox_deliver(message_id=OutboxMessage.objects.get(key__startswith="report:").pk)
    assert mail.outbox[-1].attachments[0][2] == "application/pdf"
    page.get_by_role("list", name="Main").get_by_role("link", name="My accounts").click()
    account = page.get_by_test_id(f"account-{client_a.slug}")
    assert "sent" in account.inner_text()
    assert account.get_by_test_id("backlog").inner_text() == "1"  # the open ticket

    client_page = browser.new_page(base_url=live_server.url)
    sign_in(client_page, client_user_a)
    client_page.get_by_role("list", name="Main").get_by_role("link", name="Reports").click()
    client_page.get_by_test_id("portal-reports").get_by_role("link").first.click()
    assert "Quiet month" in client_page.get_by_test_id("summary").inner_text()
    with client_page.expect_download() as download:
        client_page.get_by_test_id("pdf").click()
    assert download.value.suggested_filename.endswith("-v1.pdf")
    client_page.get_by_role("link", name="SLA dashboard").click()
    assert "Mail server down" in client_page.get_by_test_id("open-tickets").inner_text()
    assert "so far" in client_page.get_by_role("heading", level=1).inner_text()
    assert client_page.get_by_test_id("headlines").is_visible()
    client_page.close()
