"""The client's page in the workspace (workspace: namespace, included by msp/urls.py)."""

from django.urls import path

from reporting.client_views import ClientOverviewView

urlpatterns = [
    path("clients/<slug:slug>/", ClientOverviewView.as_view(), name="client-detail"),
]
