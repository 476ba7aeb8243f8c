"""Webhook pages in the workspace (administrators), included by msp/urls.py."""

from django.urls import path

from msp.webhooks.views import AdminOnly, WebhookSettingsView, pages_for

urlpatterns = [
    path("webhooks/settings/", WebhookSettingsView.as_view(), name="webhook-settings"),
    *(
        path(route, view.as_view(), name=name)
        for name, (route, view) in pages_for(AdminOnly).items()
    ),
]
