"""sla's API resources: routes registered on the one API router by msp/api/urls.py."""

from rest_framework.routers import SimpleRouter

from sla import api

router = SimpleRouter()
router.register("calendars", api.CalendarViewSet)
router.register("sla-policies", api.PolicyViewSet)
router.register("escalation-rules", api.EscalationRuleViewSet)
