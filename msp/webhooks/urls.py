"""Webhook pages, included in the workspace: namespace by msp/urls.py."""

from django.urls import path

from msp.webhooks import views

urlpatterns = [
    path("webhooks/", views.WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/settings/", views.WebhookSettingsView.as_view(), name="webhook-settings"),
    path("webhooks/<int:pk>/", views.WebhookDetailView.as_view(), name="webhook-detail"),
    path("webhooks/<int:pk>/secret/", views.WebhookSecretView.as_view(), name="webhook-secret"),
    path("webhooks/<int:pk>/rotate/", views.WebhookRotateView.as_view(), name="webhook-rotate"),
    path("webhooks/<int:pk>/test/", views.WebhookTestView.as_view(), name="webhook-test"),
    path("webhooks/<int:pk>/replay/", views.WebhookReplayView.as_view(), name="webhook-replay"),
    path("webhooks/<int:pk>/delete/", views.WebhookDeleteView.as_view(), name="webhook-delete"),
]
