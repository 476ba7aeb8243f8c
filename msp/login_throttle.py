"""Failed-login throttling on top of django-axes: per account and address (LOGIN_FAILURE_LIMIT)
and per address whatever the account (LOGIN_FAILURE_LIMIT_PER_ADDRESS, higher: an office
behind one address has many people), and an alert to administrators when an address is
locked out (in the app and by email, through the outbox, once per address and window)."""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_parameters, get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum
from django.utils import timezone

from msp.choices import OutboxChannel, UserRole
from msp.models import User
from msp.services import outbox_enqueue_many

# One alert per address in this window, however long the burst goes on.
LOGIN_BURST_ALERT_SECONDS = 60 * 60


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or with LOGIN_TRUSTED_PROXIES reverse proxies in
    front, the address the outermost of them saw (counted from the right of X-Forwarded-For,
    since the client can write anything on its left)."""
    proxies = settings.LOGIN_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if proxies and len(hops) >= proxies:
        return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def _limit(filter_kwargs: dict) -> int:
    if set(filter_kwargs) == {"ip_address"}:
        return settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS
    return settings.AXES_FAILURE_LIMIT


class LoginThrottleHandler(AxesDatabaseHandler):
    """Axes compares one failure count with one limit (AXES_FAILURE_LIMIT); each lockout
    parameter set here has its own limit, so the count given to axes is the worst of them
    in units of AXES_FAILURE_LIMIT: it reaches that limit exactly when one set reaches its own."""

    def get_failures(self, request, credentials=None) -> int:
        base = settings.AXES_FAILURE_LIMIT
        return max(
            (failures * base) // limit
            for failures, limit in self._failures_and_limits(request, credentials)
        )

    def _failures_and_limits(self, request, credentials):
        # get_user_attempts: one queryset per lockout parameter set, within the cool-off.
        for filter_kwargs, attempts in zip(
            self._filter_kwargs(request, credentials),
            self.get_user_attempts(request, credentials),
            strict=True,
        ):
            failures = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            yield failures, _limit(filter_kwargs)

    def _filter_kwargs(self, request, credentials) -> list[dict]:
        return get_client_parameters(
            get_client_username(request, credentials),
            request.axes_ip_address,
            request.axes_user_agent,
            request,
            credentials,
        )

    def reset_user_attempts(self, request, credentials=None) -> int:
        """On a successful sign-in only that account's failures from that address are
        forgotten: one good login must not wipe an address's failures on other accounts."""
        count = 0
        for filter_kwargs in self._filter_kwargs(request, credentials):
            if "username" in filter_kwargs:
                count += AccessAttempt.objects.filter(**filter_kwargs).delete()[0]
        return count

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is None or not getattr(request, "axes_locked_out", False):
            return
        address = request.axes_ip_address
        failures = (
            AccessAttempt.objects.filter(
                ip_address=address, attempt_time__gte=get_cool_off_threshold(request)
            ).aggregate(n=Sum("failures_since_start"))["n"]
            or 0
        )
        if failures >= settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS:
            login_burst_alert(address=address, failures=failures)


def login_burst_alert(*, address: str, failures: int) -> int:
    """Tell every active administrator, in the app and by email, that `address` was locked
    out after `failures` failed sign-ins; once per address per LOGIN_BURST_ALERT_SECONDS.
    Returns the number of messages written."""
    # cache.add is atomic: of many locked-out attempts at once, one alerts.
    if not cache.add(f"login-burst:{address}", 1, timeout=LOGIN_BURST_ALERT_SECONDS):
        return 0
    now = timezone.now()
    subject = f"Sign-in attempts blocked from {address}"
    body = (
        f"{failures} failed sign-ins from {address} on several accounts in the last "
        f"{int(settings.AXES_COOLOFF_TIME * 60)} minutes. Sign-in from this address is blocked "
        "for that long. Nothing more is sent about this address for the next hour."
    )
    admins = User.objects.filter(role=UserRole.ADMIN, is_active=True)
    return outbox_enqueue_many(
        [
            {
                "key": f"login-burst:{address}:{now.isoformat()}:{channel}:{admin.pk}",
                "channel": channel,
                "subject": subject,
                "body": body,
                "recipient": admin,
            }
            for admin in admins
            for channel in (OutboxChannel.IN_APP, OutboxChannel.EMAIL)
        ]
    )
