import logging

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from msp.models import ApiToken

log = logging.getLogger(__name__)


class PerTokenRateThrottle(SimpleRateThrottle):
    """A budget per token (or per signed-in user, for the browser); alerts have their own."""

    def get_rate(self):
        return None  # chosen per request, from the view

    def allow_request(self, request, view):
        self.scope = "alerts" if getattr(view, "alerts_endpoint", False) else "default"
        self.rate = settings.API_THROTTLE_RATES[self.scope]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception:
            # The counters live in the cache (Redis in production). Without it the API keeps
            # working unthrottled rather than failing every request, alert intake included.
            log.warning("API throttling skipped: the cache is unreachable", exc_info=True)
            return True

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return f"throttle-{self.scope}-{ident}"
