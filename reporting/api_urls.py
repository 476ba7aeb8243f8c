"""reporting's API resources: routes registered on the one API router by msp/api/urls.py."""

from rest_framework.routers import SimpleRouter

from reporting import api

router = SimpleRouter()
router.register("reports", api.ReportViewSet)
