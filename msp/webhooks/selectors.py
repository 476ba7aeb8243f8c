from msp.models import WebhookDelivery, WebhookEndpoint

LOG_LENGTH = 50


def webhook_endpoint_list(*, user):
    return WebhookEndpoint.objects.for_user(user).select_related("client").order_by("pk")


def webhook_delivery_log(*, endpoint: WebhookEndpoint, limit: int = LOG_LENGTH):
    """The endpoint's latest deliveries with their attempts (two queries)."""
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .prefetch_related("attempt_log")
        .order_by("-created_at", "-pk")[:limit]
    )
