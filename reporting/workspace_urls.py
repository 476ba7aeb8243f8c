"""Reporting's pages in the staff workspace (the workspace: namespace, assembled in msp/urls.py)."""

from django.urls import include, path

from reporting import views

urlpatterns = [
    path("sla-risk/", views.StaffSlaRiskView.as_view(), name="sla-risk"),
    path("accounts/", views.AccountsView.as_view(), name="accounts"),
    path("billing/", include("reporting.billing.workspace_urls")),
]
