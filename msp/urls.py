"""Root URLs: authentication, health, the staff workspace, the client portal and the API."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from msp import views
from reporting import views as reporting_views
from tickets import csat_views, portal_views

workspace_patterns = [
    path("sla-risk/", reporting_views.StaffSlaRiskView.as_view(), name="sla-risk"),
    path("accounts/", reporting_views.AccountsView.as_view(), name="accounts"),
    path("clients/", views.ClientListView.as_view(), name="client-list"),
    path("clients/<slug:slug>/", views.ClientDetailView.as_view(), name="client-detail"),
    path("notifications/", views.NotificationListView.as_view(), name="notification-list"),
    path("notifications/badge/", views.NotificationBadgeView.as_view(), name="notification-badge"),
]

portal_patterns = [
    path("", views.PortalHomeView.as_view(), name="home"),
    path("sla/", reporting_views.ClientSlaDashboardView.as_view(), name="sla-dashboard"),
    path("reports/", reporting_views.PortalReportListView.as_view(), name="report-list"),
    path(
        "reports/<int:pk>/", reporting_views.PortalReportDetailView.as_view(), name="report-detail"
    ),
    path(
        "reports/<int:pk>/<file_format:file_format>/",
        reporting_views.PortalReportDownloadView.as_view(),
        name="report-download",
    ),
    path("tickets/", portal_views.PortalTicketListView.as_view(), name="ticket-list"),
    path("tickets/new/", portal_views.PortalTicketCreateView.as_view(), name="ticket-new"),
    path("tickets/<int:pk>/", portal_views.PortalTicketDetailView.as_view(), name="ticket-detail"),
    path(
        "tickets/<int:pk>/files/<int:attachment_pk>/",
        portal_views.PortalAttachmentView.as_view(),
        name="attachment",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("csat/<str:token>/<int:rating>/", csat_views.SurveyRateView.as_view(), name="csat-rate"),
    path("csat/<str:token>/comment/", csat_views.SurveyCommentView.as_view(), name="csat-comment"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/api-tokens/", views.ApiTokenView.as_view(), name="api-tokens"),
    path(
        "accounts/api-tokens/<int:pk>/revoke/",
        views.ApiTokenRevokeView.as_view(),
        name="api-token-revoke",
    ),
    path(
        "accounts/password-reset/",
        auth_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("workspace/", include((workspace_patterns, "workspace"))),
    path("workspace/sla/", include("sla.urls")),
    path("workspace/tickets/", include("tickets.urls")),
    path("workspace/contracts/", include("contracts.urls")),
    path("workspace/reports/", include("reporting.urls")),
    path("portal/", include((portal_patterns, "portal"))),
    path("api/v1/", include(("msp.api.urls", "api"))),
    path("admin/", admin.site.urls),
]
handler404 = "msp.views.not_found"
handler500 = "msp.views.server_error"

# MEDIA_ROOT is never served as such, not even in development: ticket files go only through
# views that check the user's scope (tickets:attachment).
