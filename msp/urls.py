"""Root URLs: authentication, health, the staff workspace, the client portal and the API."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from msp import mfa_views, sent_mail_views, views
from msp.metrics import views as metrics_views
from sla.selectors import sweep_lag

# The workspace: and portal: namespaces hold pages of several apps. Each app's list is included
# without a namespace of its own, so that its names join the namespace around it (Django's
# include() of a URLconf without app_name); one include per namespace could not be shared.
workspace_patterns = [
    path("", include("reporting.workspace_urls")),
    path("", include("msp.audit.urls")),
    path("settings/", include("msp.webhooks.urls")),
    path("", include("msp.directory_urls")),
    path("", include("reporting.client_urls")),
    path("", include("tickets.configuration_urls")),
    path("", include("tickets.search_urls")),
    path("", include("tickets.timesheet_urls")),
    path("clients/<slug:slug>/teams/", views.ClientTeamsView.as_view(), name="client-teams"),
    path("notifications/", views.NotificationListView.as_view(), name="notification-list"),
    path("notifications/badge/", views.NotificationBadgeView.as_view(), name="notification-badge"),
    path("sent-mail/", sent_mail_views.SentMailListView.as_view(), name="sent-mail-list"),
    path(
        "sent-mail/<str:file>/<int:index>/",
        sent_mail_views.SentMailDetailView.as_view(),
        name="sent-mail-detail",
    ),
    path(
        "sent-mail/<str:file>/<int:index>/<int:part>/",
        sent_mail_views.SentMailAttachmentView.as_view(),
        name="sent-mail-attachment",
    ),
]

portal_patterns = [
    path("", views.PortalHomeView.as_view(), name="home"),
    path("", include("reporting.portal_urls")),
    path("", include("tickets.portal_urls")),
    path("", include("tickets.portal_search_urls")),
    path("", include("msp.webhooks.portal_urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    # The SLA side's figure for the health report is handed in here, where the layers meet.
    path("healthz", views.healthz, {"sweep_lag": sweep_lag}, name="healthz"),
    # Prometheus; closed unless METRICS_TOKEN or METRICS_ALLOWED_ADDRESSES is set.
    path("metrics", metrics_views.metrics, name="metrics"),
    path("csat/", include("tickets.csat_urls")),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/mfa/", mfa_views.SecurityView.as_view(), name="mfa-setup"),
    path("accounts/timezone/", mfa_views.TimezoneView.as_view(), name="user-timezone"),
    path("accounts/mfa/verify/", mfa_views.MfaVerifyView.as_view(), name="mfa-verify"),
    path("accounts/mfa/app/", mfa_views.TotpSetupView.as_view(), name="mfa-totp-setup"),
    path(
        "accounts/mfa/recovery-codes/",
        mfa_views.RecoveryCodesView.as_view(),
        name="mfa-recovery-codes",
    ),
    path(
        "accounts/mfa/<str:kind>/<int:pk>/remove/",
        mfa_views.DeviceRemoveView.as_view(),
        name="mfa-device-remove",
    ),
    path("webauthn/", include("django_otp_webauthn.urls", namespace="otp_webauthn")),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/api-tokens/", views.ApiTokenView.as_view(), name="api-tokens"),
    path(
        "accounts/api-tokens/<int:pk>/revoke/",
        views.ApiTokenRevokeView.as_view(),
        name="api-token-revoke",
    ),
    path(
        "accounts/sign-out-everywhere/",
        views.SignOutEverywhereView.as_view(),
        name="sign-out-everywhere",
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
