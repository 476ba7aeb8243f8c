"""The SLA risk page in a real browser: an overdue ticket first with its due time labelled in
the viewer's zone, a breach recorded by the sweep appearing without a reload, the browser's
zone used when the user chose none, and no serious accessibility violation."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from msp.choices import UserRole
from msp.timetext import time_text
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import serious_violations
from tests.factories import ContactFactory, StaffFactory, TeamFactory
from tickets.choices import Impact, Urgency
from tickets.models import Ticket
from tickets.services import ticket_open
from tickets.timers.sweep import sla_sweep

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def dispatcher_a(policy, client_a):
    pod = TeamFactory(name="Pod A", tier="")
    pod.clients.set([client_a])
    return StaffFactory(
        role=UserRole.DISPATCHER, tier="", teams=[pod], full_name="Dee A", timezone="Europe/Paris"
    )


def p1(client, subject: str, at):
    return ticket_open(
        client=client, contact=ContactFactory(client=client), subject=subject,
        impact=Impact.HIGH, urgency=Urgency.HIGH, at=at,
    )  # fmt: skip


def test_overdue_first_labelled_and_a_new_breach_arrives_without_reload(
    browser, live_server, settings, client_a, dispatcher_a
):
    settings.SLA_RISK_POLL_SECONDS = 1
    settings.SLA_RISK_FINGERPRINT_SECONDS = 1
    now = timezone.now()
    forgotten = p1(client_a, "Forgotten server", now - timedelta(days=2, hours=17, minutes=15))
    # Its response is due in 20 s: listed as due soon, not yet breached.
    closing = p1(client_a, "Closing in", now - timedelta(minutes=14, seconds=40))
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, dispatcher_a)
    page.goto("/workspace/sla-risk/")
    rows = page.get_by_test_id("at-risk-row")
    assert rows.first.get_attribute("data-ticket") == str(forgotten.pk)
    first = rows.first.inner_text()
    assert "Forgotten server" in first and "overdue 2 d 17 h" in first
    forgotten.refresh_from_db()
    due = time_text(forgotten.sla_due_at, PARIS)
    assert due.endswith((" CET", " CEST")) and due in first
    hover = rows.first.locator("time").first.get_attribute("title")
    assert hover.startswith("Client's time: ") and hover.endswith(("EST", "EDT"))
    assert "Closing in" not in page.get_by_test_id("breached").inner_text()
    assert not serious_violations(page)
    # The sweep records the breach (in this process, as the beat would): the list shows it
    # at the next poll, with no reload (the page's own marker survives).
    page.evaluate("window.__not_reloaded = true")
    sla_sweep(now=timezone.now() + timedelta(seconds=30))
    assert Ticket.objects.get(pk=closing.pk).sla_breached
    breached = page.get_by_test_id("breached")
    breached.get_by_text("Closing in").wait_for(timeout=10_000)
    assert page.evaluate("window.__not_reloaded === true")
    assert page.get_by_test_id("breached-count").inner_text() == "1"
    context.close()


def test_without_a_setting_the_browsers_zone_is_used(browser, live_server, client_a, policy):
    pod = TeamFactory(name="Pod A", tier="")
    pod.clients.set([client_a])
    person = StaffFactory(role=UserRole.DISPATCHER, tier="", teams=[pod])
    ticket = p1(client_a, "Tokyo sees it", timezone.now() - timedelta(minutes=5))
    context = browser.new_context(base_url=live_server.url, timezone_id="Asia/Tokyo")
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, person)  # the first page told the server the browser's zone
    page.goto("/workspace/sla-risk/")
    row = page.get_by_test_id("at-risk-row").first.inner_text()
    assert time_text(ticket.sla_due_at, ZoneInfo("Asia/Tokyo")) in row and "JST" in row
    context.close()
