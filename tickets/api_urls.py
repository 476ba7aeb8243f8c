"""tickets' API: the ticket resource (router, registered on the one API router by
msp/api/urls.py) and the monitoring alert intake (urlpatterns, included there)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from tickets import api, canned_api, configuration_api, time_api
from tickets.intake import alert_api

router = SimpleRouter()
router.register("tickets", api.TicketViewSet)
router.register("unrouted-alerts", api.UnroutedAlertViewSet)
router.register("time-entries", time_api.TimeEntryViewSet)
router.register("mailboxes", configuration_api.MailboxViewSet)
router.register("canned-responses", canned_api.CannedResponseViewSet, basename="canned-response")

urlpatterns = [
    path(
        "priority-matrix/",
        configuration_api.PriorityMatrixView.as_view(),
        name="priority-matrix",
    ),
    path("alerts/", alert_api.AlertIntakeView.as_view(), name="alerts"),
    path(
        "alerts/alertmanager/",
        alert_api.AlertmanagerIntakeView.as_view(),
        name="alerts-alertmanager",
    ),
    path("alerts/grafana/", alert_api.GrafanaIntakeView.as_view(), name="alerts-grafana"),
    path("alerts/zabbix/", alert_api.ZabbixIntakeView.as_view(), name="alerts-zabbix"),
]
