"""Session lifetime: signed out after a while without activity (SESSION_IDLE_MINUTES_STAFF,
SESSION_IDLE_MINUTES_CLIENT), the session refreshed on activity at most once a minute (not a
session write per request). Background polls (the notification badge, the clock panel) are
not activity: a tab left open does not keep its session alive."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

# The last activity, in epoch seconds, in the session.
LAST_ACTIVITY_KEY = "_msp_last_activity"
# Activity is recorded (and the session's expiry moved) at most this often.
REFRESH_SECONDS = 60


def idle_seconds(user) -> int:
    minutes = (
        settings.SESSION_IDLE_MINUTES_STAFF
        if user.is_msp_staff
        else settings.SESSION_IDLE_MINUTES_CLIENT
    )
    return minutes * 60


def is_passive(view_func) -> bool:
    """Whether a view is a background poll (`session_passive = True` on the view class)."""
    view_class = getattr(view_func, "view_class", None)
    return getattr(view_func, "session_passive", False) or getattr(
        view_class, "session_passive", False
    )


def activity_record(request, user) -> None:
    """Stamp the session with activity now and move its expiry."""
    request.session[LAST_ACTIVITY_KEY] = int(time.time())
    # The stored session expires too, whatever happens to this check.
    request.session.set_expiry(idle_seconds(user))


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs) -> None:
    # At sign-in, which saves the session anyway: the first request after it writes nothing.
    if request is not None and hasattr(request, "session"):
        activity_record(request, user)


class SessionIdleTimeoutMiddleware:
    """After AuthenticationMiddleware: an idle session is ended before the view runs, so the
    request goes on signed out (login_required sends it to the login page)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            last = request.session.get(LAST_ACTIVITY_KEY)
            idle = idle_seconds(request.user)
            if last is not None and time.time() - last > idle:
                logout(request)
                messages.info(
                    request,
                    f"You were signed out after {idle // 60} minutes without activity.",
                    fail_silently=True,
                )
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.user.is_authenticated or is_passive(view_func):
            return None
        now = int(time.time())
        last = request.session.get(LAST_ACTIVITY_KEY)
        if last is None or now - last >= REFRESH_SECONDS:
            activity_record(request, request.user)
        return None
