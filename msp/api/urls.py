"""/api/v1/: one router for every resource, the OpenAPI schema and its interactive docs.

Each app registers its resources on a router of its own (<app>/api_urls.py). They are merged
into the one DefaultRouter here, rather than included one by one, so that the API root still
lists every resource and each keeps its format suffix (.json); the URLs and names are the same.
"""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import DefaultRouter

from contracts.api_urls import router as contracts_router
from msp.api import views as directory_api
from msp.webhooks.api import WebhookEndpointViewSet, WebhookSettingsView
from reporting.api_urls import router as reporting_router
from sla.api_urls import router as sla_router
from tickets.api_urls import router as tickets_router

router = DefaultRouter()
# The tickets first: URLs are matched in order, and ticket requests are most of the traffic.
router.registry.extend(tickets_router.registry)
router.register("clients", directory_api.ClientViewSet)
router.register("sites", directory_api.SiteViewSet)
router.register("contacts", directory_api.ContactViewSet)
router.register("assets", directory_api.AssetViewSet)
router.register("users", directory_api.UserViewSet)
router.register("teams", directory_api.TeamViewSet)
router.register("notifications", directory_api.NotificationViewSet)
router.register("webhook-endpoints", WebhookEndpointViewSet)
for app_router in (sla_router, contracts_router, reporting_router):
    router.registry.extend(app_router.registry)

urlpatterns = [
    path("", include("tickets.api_urls")),
    path("", include(router.urls)),
    path("webhook-settings/", WebhookSettingsView.as_view(), name="webhook-settings"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's start-up script is a second request, not inline (Content-Security-Policy).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # Redoc styles itself with <style> elements it writes at run time (styled-components), which
    # cannot carry the nonce: inline style elements are allowed on this page only; scripts not.
    path(
        "redoc/",
        csp_replace(
            {
                "style-src-elem": [SELF, UNSAFE_INLINE],
                "worker-src": [SELF, "blob:"],
                "img-src": [SELF, "data:", "https://cdn.redoc.ly"],  # Redoc's own logo
            }
        )(SpectacularRedocView.as_view(url_name="api:schema")),
        name="redoc",
    ),
]
