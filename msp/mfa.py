"""Two-factor sign-in: authenticator apps (TOTP), passkeys (WebAuthn) and recovery codes, on
django-otp and django-otp-webauthn.

A user with a confirmed device signs in with the password, then with a code or a passkey; until
then every page but the second step sends them there. Where MFA is required (all staff when
SecuritySettings says so; a client's portal users when their client says so), a user without a
device is sent to set one up before anything else. API tokens are a credential of their own and
are not asked for a second factor.
"""

import math
import secrets
from dataclasses import dataclass

from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_otp import devices_for_user, user_has_device, verify_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from msp.models import SecuritySettings, User

RECOVERY_CODES = 10
RECOVERY_DEVICE_NAME = "Recovery codes"


def mfa_required(user: User) -> bool:
    if user.is_msp_staff:
        return SecuritySettings.current().require_staff_mfa
    return bool(user.client_id and user.client.require_mfa)


def mfa_enrolled(user: User) -> bool:
    """A confirmed authenticator app or passkey (recovery codes alone do not count)."""
    return any(not isinstance(device, StaticDevice) for device in devices_for_user(user))


@dataclass(frozen=True)
class MfaStatus:
    authenticator: bool
    passkeys: int
    recovery_codes_left: int


def mfa_status(user: User) -> MfaStatus:
    return MfaStatus(
        authenticator=TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
        passkeys=WebAuthnCredential.objects.filter(user=user, confirmed=True).count(),
        recovery_codes_left=StaticToken.objects.filter(device__user=user).count(),
    )


def mfa_verify(user: User, code: str) -> object | None:
    """The device that accepts the code: the authenticator app, else a recovery code (used
    up). Each device's own throttling applies (wrong codes slow further attempts down)."""
    code = "".join(code.split())
    for device in devices_for_user(user):
        if isinstance(device, TOTPDevice | StaticDevice):
            verified = verify_token(user, device.persistent_id, code)
            if verified is not None:
                return verified
    return None


def mfa_wait_seconds(user: User) -> int:
    """How long wrong codes keep the user from trying again (django-otp's throttling)."""
    now = timezone.now()
    remaining = 0
    for device in devices_for_user(user):
        if isinstance(device, TOTPDevice | StaticDevice):
            allowed, details = device.verify_is_allowed()
            if not allowed and details and details.get("locked_until"):
                seconds = (details["locked_until"] - now).total_seconds()
                remaining = max(remaining, math.ceil(seconds))
    return remaining


def recovery_codes_missing(user: User) -> bool:
    """Enrolled (an app or a passkey) and never given recovery codes."""
    return mfa_enrolled(user) and not StaticDevice.objects.filter(user=user).exists()


@transaction.atomic
def totp_device_start(*, user: User) -> TOTPDevice:
    """A new authenticator app for the user, unconfirmed until a code from it is entered."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice, code: str) -> bool:
    """Confirm the app with a code it shows; it then replaces any app the user had."""
    if not device.verify_token("".join(code.split())):
        return False
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return True


@transaction.atomic
def recovery_codes_issue(*, user: User) -> list[str]:
    """Ten new single-use recovery codes, replacing the old ones; shown to the user once."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [f"{secrets.randbelow(10**10):010d}" for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def mfa_device_remove(*, user: User, kind: str, pk: int) -> None:
    model = {"totp": TOTPDevice, "passkey": WebAuthnCredential}[kind]
    model.objects.filter(user=user, pk=pk).delete()
    if not mfa_enrolled(user):  # recovery codes alone are no second factor
        StaticDevice.objects.filter(user=user).delete()


@transaction.atomic
def mfa_reset(*, user: User) -> None:
    """An administrator's reset for a user who lost their devices: every device and recovery
    code goes; where MFA is required the user sets it up again at the next sign-in."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    WebAuthnCredential.objects.filter(user=user).delete()


# Sign-in state ---------------------------------------------------------------------------------
# Worked out once when the user signs in and kept in the session, so that a page costs no
# query for it: CLEAR (no second factor asked), VERIFY (a device to verify), ENROL (required,
# none set up). A policy turned on later applies from each user's next sign-in.

SESSION_KEY = "mfa_state"
CLEAR, VERIFY, ENROL = "clear", "verify", "enrol"


def mfa_state_refresh(request: HttpRequest) -> str:
    user = request.user
    if user_has_device(user):
        state = VERIFY
    elif mfa_required(user):
        state = ENROL
    else:
        state = CLEAR
    request.session[SESSION_KEY] = state
    return state


@receiver(user_logged_in)
def _state_at_sign_in(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.user = user
        mfa_state_refresh(request)


ALWAYS_OPEN = ("/accounts/logout/", "/static/", "/healthz", "/metrics", "/webauthn/jsi18n/")
# Before the second step: the step itself, with a code or a passkey.
VERIFYING = ("/accounts/mfa/verify/", "/webauthn/authentication/")
# Before MFA is set up where it is required: setting up an app or a passkey.
ENROLLING = ("/accounts/mfa/", "/webauthn/registration/")


class MfaMiddleware:
    """After django_otp's OTPMiddleware: a signed-in user with a device must have verified it
    in this session (until then only the second step is open: never adding a device, which
    would let a stolen password enrol its own); one who must have MFA and has none must set it
    up first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = request.user
        path = request.path
        if not user.is_authenticated or path.startswith(ALWAYS_OPEN):
            return self.get_response(request)
        state = request.session.get(SESSION_KEY) or mfa_state_refresh(request)
        if state == CLEAR or user.is_verified():
            return self.get_response(request)
        if state == VERIFY and not path.startswith(VERIFYING):
            return self._refuse(request, "mfa-verify", "Complete two-factor sign-in first.")
        if state == ENROL and not path.startswith(ENROLLING):
            return self._refuse(request, "mfa-setup", "Set up two-factor sign-in first.")
        return self.get_response(request)

    def _refuse(self, request: HttpRequest, url_name: str, message: str):
        if request.path.startswith("/api/"):
            return JsonResponse({"message": message, "errors": {}}, status=403)
        return redirect(f"{reverse(url_name)}?{urlencode({'next': request.get_full_path()})}")
