"""Reporting's pages in the staff workspace (the workspace: namespace, assembled in msp/urls.py)."""

from django.urls import path

from reporting import views

urlpatterns = [
    path("sla-risk/", views.StaffSlaRiskView.as_view(), name="sla-risk"),
    path("accounts/", views.AccountsView.as_view(), name="accounts"),
]
