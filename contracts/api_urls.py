"""contracts' API resources: routes registered on the one API router by msp/api/urls.py."""

from rest_framework.routers import SimpleRouter

from contracts import api

router = SimpleRouter()
router.register("contracts", api.ContractViewSet)
router.register("service-lines", api.ServiceLineViewSet)
router.register("compliance-targets", api.ComplianceTargetViewSet)
router.register("maintenance-windows", api.MaintenanceWindowViewSet)
router.register("outages", api.OutageViewSet)
router.register("evaluations", api.EvaluationViewSet)
router.register("breach-exemptions", api.BreachExemptionViewSet)
