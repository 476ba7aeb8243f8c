import logging
from dataclasses import dataclass

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
            allowed = super().allow_request(request, view)
        except Exception:
            # The counters live in the cache (Redis in production). Without it the API keeps
            # working unthrottled rather than failing every request, alert intake included.
            log.warning("API throttling skipped: the cache is unreachable", exc_info=True)
            return True
        # What the response tells the caller of its budget (RateLimitHeadersMiddleware).
        oldest = self.history[-1] if self.history else self.now
        request._request.rate_limit = RateLimit(
            limit=self.num_requests,
            remaining=max(self.num_requests - len(self.history), 0),
            reset=int(oldest + self.duration),
        )
        return allowed

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return f"throttle-{self.scope}-{ident}"


@dataclass(frozen=True)
class RateLimit:
    limit: int
    remaining: int
    reset: int  # Unix time when the oldest request of the window leaves it


class RateLimitHeadersMiddleware:
    """X-RateLimit-Limit, -Remaining and -Reset on every API response that counted against a
    budget (so integrations can pace themselves before they meet a 429)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        budget = getattr(request, "rate_limit", None)
        if budget is not None:
            response["X-RateLimit-Limit"] = str(budget.limit)
            response["X-RateLimit-Remaining"] = str(budget.remaining)
            response["X-RateLimit-Reset"] = str(budget.reset)
        return response
