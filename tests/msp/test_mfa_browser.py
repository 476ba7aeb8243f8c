"""Two-factor sign-in in a real browser: the second step with an authenticator app's code, and
setting an app up from the QR code page where staff must use one."""

import base64

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from msp.models import SecuritySettings
from tests.msp.test_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def current_code(key: bytes) -> str:
    return f"{totp(key):06d}"


def test_a_technician_signs_in_with_an_authenticator_code(page, technician):
    device = TOTPDevice.objects.create(user=technician, name="Phone", confirmed=True)
    sign_in(page, technician.email)
    page.wait_for_url("**/accounts/mfa/verify/**")
    assert page.get_by_role("heading", name="Two-factor sign-in").is_visible()
    assert page.get_by_role("link", name="Clients").count() == 0  # nothing else until then

    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    assert page.get_by_text("That code is not right").is_visible()

    page.wait_for_timeout(1100)  # a wrong code delays the next try by a second
    page.get_by_label("Code").fill(current_code(device.bin_key))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/workspace/tickets/?queue=mine")
    assert technician.full_name in page.get_by_test_id("signed-in-as").inner_text()


def test_required_mfa_is_set_up_from_the_qr_code_page(page, technician):
    SecuritySettings.objects.update_or_create(pk=1, defaults={"require_staff_mfa": True})
    sign_in(page, technician.email)
    page.wait_for_url("**/accounts/mfa/?next=**")
    assert page.get_by_test_id("mfa-required").is_visible()
    page.get_by_test_id("setup-app").click()
    page.wait_for_url("**/accounts/mfa/app/**")
    assert page.get_by_test_id("qr").locator("svg").is_visible()

    key = base64.b32decode(page.get_by_test_id("totp-key").inner_text())
    page.get_by_label("Code").fill(current_code(key))
    page.get_by_role("button", name="Turn on").click()
    codes = page.get_by_test_id("recovery-codes").locator("li")
    assert codes.count() == 10
    page.get_by_test_id("continue").click()
    page.wait_for_url("**/workspace/tickets/?queue=mine")
    assert TOTPDevice.objects.get(user=technician).confirmed


def test_a_passkey_is_added_then_signs_in(page, technician, settings, live_server):
    # Chromium's virtual authenticator stands in for the device's fingerprint reader.
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
    }
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    sign_in(page, technician.email)
    page.wait_for_url("**/workspace/tickets/?queue=mine")
    page.goto("/accounts/mfa/")
    page.get_by_role("button", name="Add a passkey").click()
    # A first second factor brings its recovery codes, shown once; then the passkey is listed.
    page.get_by_test_id("recovery-codes").wait_for()
    assert page.get_by_test_id("recovery-codes").locator("li").count() == 10
    page.get_by_test_id("continue").click()
    page.get_by_test_id("passkey").wait_for()

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, technician.email)
    page.wait_for_url("**/accounts/mfa/verify/**")
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url("**/workspace/tickets/?queue=mine")
