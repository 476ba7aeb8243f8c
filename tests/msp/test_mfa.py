"""Two-factor sign-in: the second step, enrolment where it is required, recovery codes, the
administrator's reset, and what a stolen password alone can reach (nothing)."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from msp import mfa
from msp.models import ApiToken, SecuritySettings
from msp.services import api_token_create
from tests.factories.msp import PASSWORD

pytestmark = pytest.mark.django_db


def password_signed_in(user) -> HttpClient:
    """A browser that has given the right password, and nothing more."""
    http = HttpClient()
    response = http.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return http


def app_of(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def code(device: TOTPDevice, *, later: int = 0) -> str:
    return f"{totp(device.bin_key, t0=device.t0, step=device.step, drift=later):06d}"


def require_staff_mfa() -> None:
    SecuritySettings.objects.update_or_create(pk=1, defaults={"require_staff_mfa": True})


class TestSecondStep:
    def test_without_a_device_and_not_required_the_password_is_enough(self, technician):
        http = password_signed_in(technician)
        assert http.get(reverse("tickets:queue")).status_code == 200

    def test_with_an_app_every_page_waits_for_the_code(self, technician):
        device = app_of(technician)
        http = password_signed_in(technician)
        response = http.get(reverse("tickets:queue"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("mfa-verify"))
        now = timezone.now()
        with time_machine.travel(now, tick=False):
            wrong = http.post(reverse("mfa-verify"), {"code": "000000", "next": "/workspace/"})
            assert wrong.status_code == 400 and b"not right" in wrong.content
            assert http.get(reverse("tickets:queue")).status_code == 302
            # A wrong code slows the next attempt down (django-otp's throttling): even the
            # right code waits a second.
            throttled = http.post(reverse("mfa-verify"), {"code": code(device)})
            assert throttled.status_code == 400
            assert b"Too many wrong codes: wait 1 s" in throttled.content
        with time_machine.travel(now + timedelta(seconds=3), tick=False):
            right = http.post(reverse("mfa-verify"), {"code": code(device), "next": "/workspace/"})
            assert right.status_code == 302 and right.url == "/workspace/"
            assert http.get(reverse("tickets:queue")).status_code == 200

    def test_a_recovery_code_works_once(self, technician):
        app_of(technician)
        codes = mfa.recovery_codes_issue(user=technician)
        first = password_signed_in(technician)
        assert first.post(reverse("mfa-verify"), {"code": codes[0]}).status_code == 302
        assert first.get(reverse("tickets:queue")).status_code == 200
        again = password_signed_in(technician)
        assert again.post(reverse("mfa-verify"), {"code": codes[0]}).status_code == 400
        assert mfa.mfa_status(technician).recovery_codes_left == 9

    def test_a_stolen_password_cannot_enrol_its_own_app_or_passkey(self, technician):
        app_of(technician)
        http = password_signed_in(technician)
        for url in (reverse("mfa-totp-setup"), reverse("mfa-setup"), reverse("api-tokens")):
            assert http.get(url).url.startswith(reverse("mfa-verify")), url
        begin = http.post(reverse("otp_webauthn:credential-registration-begin"))
        assert begin.status_code == 302 or begin.status_code >= 400
        assert TOTPDevice.objects.filter(user=technician).count() == 1

    def test_the_api_answers_a_half_signed_in_session_with_403(self, technician):
        app_of(technician)
        response = password_signed_in(technician).get("/api/v1/tickets/")
        assert response.status_code == 403
        assert response.json()["message"] == "Complete two-factor sign-in first."

    def test_api_tokens_are_a_credential_of_their_own(self, technician):
        app_of(technician)
        require_staff_mfa()
        _, secret = api_token_create(user=technician, name="RMM", scope="read")
        response = HttpClient().get("/api/v1/tickets/", HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert response.status_code == 200
        assert ApiToken.objects.get(user=technician).last_used_at is not None

    def test_an_offsite_next_is_not_followed(self, technician):
        device = app_of(technician)
        http = password_signed_in(technician)
        response = http.post(
            reverse("mfa-verify"), {"code": code(device), "next": "https://evil.example/"}
        )
        assert response.status_code == 302 and response.url == "/"


class TestRequired:
    def test_staff_set_up_an_app_before_anything_else(self, technician):
        require_staff_mfa()
        http = password_signed_in(technician)
        response = http.get(reverse("tickets:queue"))
        assert response.url.startswith(reverse("mfa-setup"))
        page = http.get(reverse("mfa-setup"))
        assert page.status_code == 200 and b'data-testid="mfa-required"' in page.content
        setup = http.get(reverse("mfa-totp-setup"))
        assert setup.status_code == 200 and b"<svg" in setup.content
        device = TOTPDevice.objects.get(user=technician, confirmed=False)
        done = http.post(reverse("mfa-totp-setup"), {"code": code(device)})
        assert done.status_code == 200
        assert len(done.context["codes"]) == 10
        assert http.get(reverse("tickets:queue")).status_code == 200  # verified by enrolling
        assert mfa.mfa_status(technician).authenticator

    def test_a_wrong_code_does_not_turn_the_app_on(self, technician):
        require_staff_mfa()
        http = password_signed_in(technician)
        http.get(reverse("mfa-totp-setup"))
        response = http.post(reverse("mfa-totp-setup"), {"code": "123456"})
        assert response.status_code == 400
        assert not TOTPDevice.objects.filter(user=technician, confirmed=True).exists()

    def test_a_client_requires_it_of_its_portal_users_only(self, client_user_a, technician):
        client_user_a.client.require_mfa = True
        client_user_a.client.save(update_fields=["require_mfa"])
        portal = password_signed_in(client_user_a)
        assert portal.get(reverse("portal:home")).url.startswith(reverse("mfa-setup"))
        assert password_signed_in(technician).get(reverse("tickets:queue")).status_code == 200

    def test_a_policy_turned_on_applies_from_the_next_sign_in(self, technician):
        http = password_signed_in(technician)
        require_staff_mfa()
        assert http.get(reverse("tickets:queue")).status_code == 200  # this session: as it was
        again = password_signed_in(technician)
        assert again.get(reverse("tickets:queue")).url.startswith(reverse("mfa-setup"))

    def test_a_reset_while_the_second_step_waits_lets_the_user_through(self, technician):
        app_of(technician)
        http = password_signed_in(technician)
        mfa.mfa_reset(user=technician)
        assert http.get(reverse("mfa-verify")).status_code == 302
        assert http.get(reverse("tickets:queue")).status_code == 200

    def test_production_starts_with_staff_mfa_required(self, settings):
        settings.MFA_REQUIRED_FOR_STAFF = True
        SecuritySettings.objects.all().delete()
        assert SecuritySettings.current().require_staff_mfa


class TestDevices:
    def test_removing_the_last_device_removes_the_recovery_codes(self, technician):
        device = app_of(technician)
        mfa.recovery_codes_issue(user=technician)
        mfa.mfa_device_remove(user=technician, kind="totp", pk=device.pk)
        assert not StaticDevice.objects.filter(user=technician).exists()
        assert not mfa.mfa_enrolled(technician)

    def test_an_administrator_resets_a_user_who_lost_their_phone(self, technician, admin_user):
        app_of(technician)
        mfa.recovery_codes_issue(user=technician)
        admin = HttpClient()
        admin.force_login(admin_user)
        response = admin.post(
            reverse("admin:msp_user_changelist"),
            {"action": "reset_two_factor", "_selected_action": [technician.pk]},
        )
        assert response.status_code == 302
        assert not TOTPDevice.objects.filter(user=technician).exists()
        assert not StaticDevice.objects.filter(user=technician).exists()
        assert password_signed_in(technician).get(reverse("tickets:queue")).status_code == 200

    def test_a_code_cannot_be_replayed_in_its_own_time_step(self, technician):
        device = app_of(technician)
        now = timezone.now()
        with time_machine.travel(now, tick=False):
            first = password_signed_in(technician)
            assert first.post(reverse("mfa-verify"), {"code": code(device)}).status_code == 302
            second = password_signed_in(technician)
            assert second.post(reverse("mfa-verify"), {"code": code(device)}).status_code == 400
        with time_machine.travel(now + timedelta(seconds=31), tick=False):
            third = password_signed_in(technician)
            device.refresh_from_db()
            assert third.post(reverse("mfa-verify"), {"code": code(device)}).status_code == 302


def test_an_administrator_turns_the_staff_policy_on_in_the_admin(admin_user, technician):
    admin = HttpClient()
    admin.force_login(admin_user)
    response = admin.post(reverse("admin:msp_securitysettings_add"), {"require_staff_mfa": "on"})
    assert response.status_code == 302
    assert SecuritySettings.current().require_staff_mfa
    assert password_signed_in(technician).get("/workspace/").url.startswith(reverse("mfa-setup"))


def test_the_audit_trail_has_the_policy_and_device_changes_never_a_key(admin_user, technician):
    from auditlog.models import LogEntry

    device = app_of(technician)
    codes = mfa.recovery_codes_issue(user=technician)
    SecuritySettings.objects.create(pk=1, require_staff_mfa=True)
    mfa.mfa_reset(user=technician)
    trail = list(LogEntry.objects.values_list("content_type__model", "action", "changes_text"))
    models = {(model, action) for model, action, _ in trail}
    assert ("securitysettings", LogEntry.Action.CREATE) in models
    assert ("totpdevice", LogEntry.Action.DELETE) in models  # the reset
    assert ("staticdevice", LogEntry.Action.DELETE) in models
    everything = repr(list(LogEntry.objects.values()))
    assert device.key not in everything
    assert not any(code in everything for code in codes)


def test_a_first_passkey_brings_recovery_codes_once(technician):
    from django_otp_webauthn.models import WebAuthnCredential

    WebAuthnCredential.objects.create(
        user=technician, name="Laptop", confirmed=True, credential_id=b"x", public_key=b"y"
    )
    http = HttpClient()
    http.force_login(technician)  # as after registering the passkey (the session is verified)
    session = http.session
    session["mfa_state"] = mfa.CLEAR
    session.save()
    first = http.get(reverse("mfa-setup"))
    assert len(first.context["codes"]) == 10
    again = http.get(reverse("mfa-setup"))
    assert "codes" not in again.context and again.context["status"].recovery_codes_left == 10


def test_the_security_settings_admin_is_one_page(admin_user):
    admin = HttpClient()
    admin.force_login(admin_user)
    first = admin.get(reverse("admin:msp_securitysettings_changelist"))
    assert first.url == reverse("admin:msp_securitysettings_add")
    page = admin.get(first.url)
    assert b"_addanother" not in page.content
    admin.post(first.url, {"require_staff_mfa": "on"})
    then = admin.get(reverse("admin:msp_securitysettings_changelist"))
    assert then.url == reverse("admin:msp_securitysettings_change", args=[1])
