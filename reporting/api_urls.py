"""reporting's API resources: routes registered on the one API router by msp/api/urls.py."""

from rest_framework.routers import SimpleRouter

from reporting import api
from reporting.billing.api import BILLING_ROUTES

router = SimpleRouter()
router.register("reports", api.ReportViewSet)
# Billing: invoices and credit notes, accounting exports, spend records, taxes, the rate card.
for prefix, viewset in BILLING_ROUTES:
    router.register(prefix, viewset)
