"""Sign in and out in a real browser (Debian's chromium driven by Playwright)."""

import pytest

from tests.factories.msp import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_technician_signs_in_sees_clients_and_signs_out(page, technician, client_a):
    sign_in(page, technician.email)
    page.wait_for_url("**/workspace/tickets/?queue=mine")  # a technician's own tickets
    page.get_by_role("link", name="Clients").click()
    page.wait_for_url("**/workspace/clients/")
    assert page.get_by_role("heading", name="Clients").is_visible()
    assert page.get_by_role("link", name=client_a.name).is_visible()
    assert technician.full_name in page.get_by_test_id("signed-in-as").inner_text()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")
    page.goto("/workspace/clients/")
    assert "/accounts/login/" in page.url


def test_client_user_signs_in_to_the_portal_of_its_organisation(page, client_user_a, client_b):
    sign_in(page, client_user_a.email)
    page.wait_for_url("**/portal/sla/")  # the SLA dashboard and the open tickets
    assert "so far" in page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_test_id("open-tickets").is_visible()
    page.get_by_role("link", name="My organisation").click()
    assert page.get_by_role("heading", name=client_user_a.client.name).is_visible()
    assert client_b.name not in page.content()


def test_wrong_password_shows_an_error_and_stays_signed_out(page, technician):
    sign_in(page, technician.email, "not-the-password")
    assert page.get_by_role("alert").inner_text().startswith("Please enter a correct email")
    assert "/accounts/login/" in page.url
