"""GET /metrics in Prometheus's text format, for a scraper that shows a bearer token
(METRICS_TOKEN) and/or comes from an allowed network (METRICS_ALLOWED_ADDRESSES); with
neither configured the endpoint does not exist (404)."""

import hmac
import ipaddress

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from msp.login_throttle import client_address
from msp.metrics.collector import AppCollector


def _address_allowed(request: HttpRequest) -> bool:
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.METRICS_ALLOWED_ADDRESSES
    )


def _token_shown(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode()
    )


def metrics_refusal(request: HttpRequest) -> HttpResponse | None:
    """Why this request may not read the metrics, as its response; None when it may. With
    both a token and networks configured, both are required."""
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_ADDRESSES:
        raise Http404("Metrics are not enabled.")
    if settings.METRICS_ALLOWED_ADDRESSES and not _address_allowed(request):
        return HttpResponse("Not from an allowed address.\n", status=403, content_type="text/plain")
    if settings.METRICS_TOKEN and not _token_shown(request):
        response = HttpResponse("Bearer token required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return None


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    refusal = metrics_refusal(request)
    if refusal is not None:
        return refusal
    # A registry per scrape: the collector reads every figure when asked, nothing is kept.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AppCollector())
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(registry), content_type=content_type)
