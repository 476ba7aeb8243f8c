"""Two-factor sign-in pages: the second step, the account's security page (authenticator app,
passkeys, recovery codes), and setting up an authenticator app."""

import base64

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from msp import mfa
from msp.forms import TimezoneForm
from msp.services import user_timezone_set

SETUP_SESSION_KEY = "mfa_totp_setup_device"


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def _next_url(request, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


class MfaVerifyView(LoginRequiredMixin, View):
    """The second step of signing in: a code from the app, a recovery code, or a passkey."""

    template_name = "registration/mfa_verify.html"

    def get(self, request):
        # Nothing to verify any more (an administrator reset the devices): the state follows.
        if request.user.is_verified() or mfa.mfa_state_refresh(request) != mfa.VERIFY:
            return redirect(_next_url(request))
        return self._page(request, CodeForm())

    def post(self, request):
        form = CodeForm(request.POST)
        wait = mfa.mfa_wait_seconds(request.user)  # before: a code then is not even checked
        if form.is_valid() and wait:
            form.add_error("code", f"Too many wrong codes: wait {wait} s, then try again.")
        elif form.is_valid():
            device = mfa.mfa_verify(request.user, form.cleaned_data["code"])
            if device is not None:
                otp_login(request, device)
                return redirect(_next_url(request))
            form.add_error("code", "That code is not right, or was used already. Try again.")
        return self._page(request, form, status=400)

    def _page(self, request, form, status: int = 200):
        context = {
            "form": form,
            "next": _next_url(request),
            "passkeys": WebAuthnCredential.objects.filter(user=request.user).exists(),
            "app": TOTPDevice.objects.filter(user=request.user, confirmed=True).exists(),
            "hide_navigation": True,  # every other page waits for this step
        }
        return render(request, self.template_name, context, status=status)


class SecurityView(LoginRequiredMixin, View):
    """The user's own two-factor devices, and the place to add them."""

    template_name = "registration/mfa_security.html"

    def get(self, request):
        user = request.user
        if mfa.recovery_codes_missing(user):  # a first passkey: its recovery codes, once
            codes = mfa.recovery_codes_issue(user=user)
            return render(
                request,
                "registration/mfa_recovery_codes.html",
                {"codes": codes, "next": _next_url(request, reverse("mfa-setup"))},
            )
        return security_page(request, TimezoneForm(initial={"timezone": user.timezone}))


def security_page(request, timezone_form, status: int = 200):
    user = request.user
    return render(
        request,
        SecurityView.template_name,
        {
            "status": mfa.mfa_status(user),
            "required": mfa.mfa_required(user),
            "authenticators": TOTPDevice.objects.filter(user=user, confirmed=True),
            "passkeys": WebAuthnCredential.objects.filter(user=user, confirmed=True),
            "next": _next_url(request, ""),
            "timezone_form": timezone_form,
        },
        status=status,
    )


class TimezoneView(LoginRequiredMixin, View):
    """The user's own time zone, set from the security page (the account's settings)."""

    def post(self, request):
        form = TimezoneForm(request.POST)
        if not form.is_valid():
            return security_page(request, form, status=400)
        user_timezone_set(user=request.user, timezone_name=form.cleaned_data["timezone"])
        messages.success(request, "Times are now shown in your time zone.")
        return redirect("mfa-setup")


class DeviceRemoveView(LoginRequiredMixin, View):
    def post(self, request, kind: str, pk: int):
        if kind not in ("totp", "passkey"):
            return redirect("mfa-setup")
        mfa.mfa_device_remove(user=request.user, kind=kind, pk=pk)
        if mfa.mfa_required(request.user) and not mfa.mfa_enrolled(request.user):
            messages.warning(request, "Two-factor sign-in is required: set up another device.")
        else:
            messages.success(request, "Removed.")
        return redirect("mfa-setup")


class TotpSetupView(LoginRequiredMixin, View):
    """Scan a QR code (or type the key) into an authenticator app, then enter a code from it.
    The first device also brings recovery codes, shown once."""

    template_name = "registration/mfa_totp_setup.html"

    def get(self, request):
        device = mfa.totp_device_start(user=request.user)
        request.session[SETUP_SESSION_KEY] = device.pk
        return self._page(request, device, CodeForm())

    def post(self, request):
        device = TOTPDevice.objects.filter(
            user=request.user, pk=request.session.get(SETUP_SESSION_KEY), confirmed=False
        ).first()
        if device is None:
            return redirect("mfa-totp-setup")
        form = CodeForm(request.POST)
        if form.is_valid() and mfa.totp_device_confirm(
            device=device, code=form.cleaned_data["code"]
        ):
            del request.session[SETUP_SESSION_KEY]
            otp_login(request, device)  # this session has just proved the app
            codes = mfa.recovery_codes_issue(user=request.user)
            return render(
                request,
                "registration/mfa_recovery_codes.html",
                {"codes": codes, "next": _next_url(request, reverse("mfa-setup"))},
            )
        if form.is_valid():
            form.add_error("code", "That code is not right. Check the app's clock and try again.")
        return self._page(request, device, form, status=400)

    def _page(self, request, device: TOTPDevice, form, status: int = 200):
        qr = segno.make(device.config_url, error="m")
        context = {
            "form": form,
            "qr_svg": qr.svg_inline(scale=4, dark="#212529"),
            "key": base64.b32encode(device.bin_key).decode(),
            "next": _next_url(request, ""),
        }
        return render(request, self.template_name, context, status=status)


class RecoveryCodesView(LoginRequiredMixin, View):
    """New recovery codes (the old ones stop working), shown once."""

    def post(self, request):
        if not mfa.mfa_enrolled(request.user):
            return redirect("mfa-setup")
        codes = mfa.recovery_codes_issue(user=request.user)
        return render(
            request,
            "registration/mfa_recovery_codes.html",
            {"codes": codes, "next": reverse("mfa-setup")},
        )
