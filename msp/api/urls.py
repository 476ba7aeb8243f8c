"""/api/v1/: one router for every resource, the OpenAPI schema and its interactive docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from contracts import api as contract_api
from msp.api import views as directory_api
from reporting import api as report_api
from sla import api as sla_api
from tickets import api as ticket_api
from tickets.intake import alert_api

router = DefaultRouter()
router.register("clients", directory_api.ClientViewSet)
router.register("sites", directory_api.SiteViewSet)
router.register("contacts", directory_api.ContactViewSet)
router.register("assets", directory_api.AssetViewSet)
router.register("users", directory_api.UserViewSet)
router.register("teams", directory_api.TeamViewSet)
router.register("calendars", sla_api.CalendarViewSet)
router.register("sla-policies", sla_api.PolicyViewSet)
router.register("contracts", contract_api.ContractViewSet)
router.register("service-lines", contract_api.ServiceLineViewSet)
router.register("maintenance-windows", contract_api.MaintenanceWindowViewSet)
router.register("outages", contract_api.OutageViewSet)
router.register("tickets", ticket_api.TicketViewSet)
router.register("reports", report_api.ReportViewSet)

urlpatterns = [
    path("alerts/", alert_api.AlertIntakeView.as_view(), name="alerts"),
    path(
        "alerts/alertmanager/",
        alert_api.AlertmanagerIntakeView.as_view(),
        name="alerts-alertmanager",
    ),
    path("alerts/grafana/", alert_api.GrafanaIntakeView.as_view(), name="alerts-grafana"),
    path("alerts/zabbix/", alert_api.ZabbixIntakeView.as_view(), name="alerts-zabbix"),
    path("", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
]
