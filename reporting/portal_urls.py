"""Reporting's pages in the client portal (the portal: namespace, assembled in msp/urls.py)."""

from django.urls import include, path

from reporting import views

urlpatterns = [
    path("invoices/", include("reporting.billing.portal_urls")),
    path("sla/", views.ClientSlaDashboardView.as_view(), name="sla-dashboard"),
    path("reports/", views.PortalReportListView.as_view(), name="report-list"),
    path("reports/<int:pk>/", views.PortalReportDetailView.as_view(), name="report-detail"),
    path(
        "reports/<int:pk>/<file_format:file_format>/",
        views.PortalReportDownloadView.as_view(),
        name="report-download",
    ),
]
