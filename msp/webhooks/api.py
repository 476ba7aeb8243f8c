"""Webhook endpoints over the API (/api/v1/webhook-endpoints/): administrators manage every
endpoint; client users their client's own, when the MSP allows it (WebhookSettings)."""

from datetime import timedelta

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from msp.api.base import ScopedViewSet, valid_data
from msp.api.fields import IdField, StrictBooleanField, StrictCharField
from msp.api.permissions import token_scope
from msp.choices import TokenScope, UserRole
from msp.models import Client, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSettings
from msp.webhooks import services
from msp.webhooks.choices import SUBSCRIBABLE_EVENT_TYPES

DELIVERY_EXAMPLE = {
    "id": 42,
    "event_id": "evt_0b6f3c5e9a2d4c1b8e7f6a5d4c3b2a19",
    "event_type": "ticket.created",
    "status": "delivered",
    "attempts": 2,
    "next_attempt_at": "2026-11-30T09:00:30Z",
    "created_at": "2026-11-30T09:00:00Z",
    "delivered_at": "2026-11-30T09:00:31Z",
    "last_response_status": 204,
    "last_error": "",
    "body": '{"type":"ticket.created","version":1,"id":"evt_0b6f…","timestamp":"…","data":{}}',
    "attempt_log": [
        {
            "number": 1,
            "at": "2026-11-30T09:00:00Z",
            "response_status": 503,
            "response_excerpt": "Service Unavailable",
            "duration_ms": 41,
            "error": "HTTP 503",
        },
        {
            "number": 2,
            "at": "2026-11-30T09:00:31Z",
            "response_status": 204,
            "response_excerpt": "",
            "duration_ms": 38,
            "error": "",
        },
    ],
}
SECRET_EXAMPLE = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "previous_secret_until": "2026-12-01T09:00:00Z",
}

ENDPOINT_EXAMPLE = {
    "id": 7,
    "url": "https://hooks.example.net/psa",
    "description": "Chat notifications",
    "event_types": ["sla.breach", "ticket.created"],
    "client": None,
    "owned_by_client": False,
    "is_active": True,
    "failing_since": None,
    "disabled_reason": "",
    "previous_secret_until": None,
    "created_at": "2026-11-30T09:00:00Z",
}


class WebhookAccess(permissions.BasePermission):
    """Administrators; client users only where the MSP lets clients subscribe."""

    message = "Only administrators manage webhooks."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user.role == UserRole.ADMIN:
            return True
        if user.role == UserRole.CLIENT:
            return WebhookSettings.current().clients_may_subscribe
        return False


class WebhookEndpointSerializer(serializers.ModelSerializer):
    client = IdField(read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "client",
            "owned_by_client",
            "is_active",
            "failing_since",
            "disabled_reason",
            "previous_secret_until",
            "created_at",
        ]
        read_only_fields = fields


class WebhookEndpointWriteSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.MultipleChoiceField(choices=SUBSCRIBABLE_EVENT_TYPES)
    client = IdField(
        queryset=Client.objects.all(),
        required=False,
        allow_null=True,
        help_text="Only this client's events (administrators). Blank: every client's.",
    )
    is_active = serializers.BooleanField(required=False, default=True)


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="whsec_… Shown in this answer only.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField()
    previous_secret_until = serializers.DateTimeField(allow_null=True)


class RotateSerializer(serializers.Serializer):
    overlap_hours = serializers.IntegerField(
        min_value=0, max_value=24 * 14, default=24, help_text="How long the old secret signs too."
    )


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "at", "response_status", "response_excerpt", "duration_ms", "error"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
            "delivered_at",
            "last_response_status",
            "last_error",
            "body",
            "attempt_log",
        ]


class ReplaySerializer(serializers.Serializer):
    delivery_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)
    failed_only = serializers.BooleanField(default=False)

    def validate(self, attrs):
        if "delivery_ids" not in attrs and not ("start" in attrs and "end" in attrs):
            raise serializers.ValidationError("Give delivery_ids, or start and end.")
        return attrs


class ReplayedSerializer(serializers.Serializer):
    replayed = serializers.IntegerField()


@extend_schema_view(
    list=extend_schema(
        summary="Webhook endpoints",
        examples=[OpenApiExample("An endpoint", value=ENDPOINT_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        examples=[OpenApiExample("An endpoint", value=ENDPOINT_EXAMPLE, response_only=True)]
    ),
    destroy=extend_schema(
        summary="Unsubscribe (nothing more is sent; the delivery log is kept)",
        responses={204: None},
    ),
)
class WebhookEndpointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    """Signed outbound webhooks (Standard Webhooks): subscriptions, their secret, delivery
    log, replays and test events. See docs/webhooks.md."""

    queryset = WebhookEndpoint.objects.select_related("client").order_by("id")
    serializer_class = WebhookEndpointSerializer
    permission_classes = [*ScopedViewSet.permission_classes, WebhookAccess]
    client_users_allowed = True
    filterset_fields = ["is_active", "client"]
    ordering_fields = ["id", "created_at"]
    ordering = ["id"]

    @extend_schema(
        request=WebhookEndpointWriteSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
        examples=[
            OpenApiExample(
                "Subscribe to breaches of every client",
                value={"url": "https://hooks.example.net/psa", "event_types": ["sla.breach"]},
                request_only=True,
            ),
            OpenApiExample(
                "Created (the secret is shown this once)",
                value={**ENDPOINT_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def create(self, request):
        data = valid_data(WebhookEndpointWriteSerializer, request)
        endpoint, secret = services.webhook_endpoint_create(
            actor=request.user,
            url=data["url"],
            event_types=list(data["event_types"]),
            description=data.get("description", ""),
            client=data.get("client"),
            is_active=data["is_active"],
        )
        body = WebhookEndpointCreatedSerializer({**_fields(endpoint), "secret": secret}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=WebhookEndpointWriteSerializer(partial=True),
        responses={200: WebhookEndpointSerializer},
        examples=[
            OpenApiExample(
                "Disable", value={"is_active": False}, request_only=True, status_codes=["200"]
            )
        ],
    )
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        data = valid_data(WebhookEndpointWriteSerializer, request, partial=True)
        if "event_types" in data:
            data["event_types"] = list(data["event_types"])
        endpoint = services.webhook_endpoint_update(endpoint=endpoint, **data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    def perform_destroy(self, instance):
        services.webhook_endpoint_delete(endpoint=instance)

    @extend_schema(
        request=None,
        responses={200: SecretSerializer},
        examples=[OpenApiExample("During a rotation", value=SECRET_EXAMPLE, response_only=True)],
    )
    @action(detail=True, methods=["get"])
    def secret(self, request, pk=None):
        """The current signing secret (not to read-only tokens)."""
        if token_scope(request) == TokenScope.READ:
            raise PermissionDenied("A read-only token may not read signing secrets.")
        endpoint = self.get_object()
        return Response(
            SecretSerializer(
                {"secret": endpoint.secret, "previous_secret_until": endpoint.previous_secret_until}
            ).data,
            headers={"Cache-Control": "no-store"},
        )

    @extend_schema(
        request=RotateSerializer,
        responses={200: SecretSerializer},
        examples=[
            OpenApiExample("A day's overlap", value={"overlap_hours": 24}, request_only=True),
            OpenApiExample("The new secret", value=SECRET_EXAMPLE, response_only=True),
        ],
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new secret; the old one signs too (a second signature) during the overlap."""
        endpoint = self.get_object()
        hours = valid_data(RotateSerializer, request)["overlap_hours"]
        secret = services.webhook_secret_rotate(endpoint=endpoint, overlap=timedelta(hours=hours))
        endpoint.refresh_from_db()
        return Response(
            SecretSerializer(
                {"secret": secret, "previous_secret_until": endpoint.previous_secret_until}
            ).data,
            headers={"Cache-Control": "no-store"},
        )

    @extend_schema(
        request=None,
        responses={202: WebhookDeliverySerializer},
        examples=[
            OpenApiExample(
                "Queued",
                value={
                    **DELIVERY_EXAMPLE,
                    "event_type": "webhook.test",
                    "status": "pending",
                    "attempts": 0,
                    "delivered_at": None,
                    "last_response_status": None,
                    "attempt_log": [],
                },
                response_only=True,
                status_codes=["202"],
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a "webhook.test" event to this endpoint now."""
        delivery = services.webhook_test_send(endpoint=self.get_object(), actor=request.user)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={200: WebhookDeliverySerializer(many=True)},
        examples=[
            OpenApiExample("A delivery that succeeded at its second attempt", DELIVERY_EXAMPLE)
        ],
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """The delivery log, newest first: body sent, status, and every attempt's answer."""
        endpoint = self.get_object()
        deliveries = endpoint.deliveries.prefetch_related("attempt_log").order_by(
            "-created_at", "-pk"
        )
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        request=ReplaySerializer,
        responses={202: ReplayedSerializer},
        examples=[
            OpenApiExample("One delivery", value={"delivery_ids": [42]}, request_only=True),
            OpenApiExample(
                "A time range, failed ones only",
                value={
                    "start": "2026-11-28T00:00:00Z",
                    "end": "2026-11-30T00:00:00Z",
                    "failed_only": True,
                },
                request_only=True,
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Send deliveries again, with their event ids (receivers dedupe by webhook-id)."""
        endpoint = self.get_object()
        data = valid_data(ReplaySerializer, request)
        if "delivery_ids" in data:
            count = services.webhook_replay(
                deliveries=endpoint.deliveries.filter(pk__in=data["delivery_ids"])
            )
        else:
            count = services.webhook_replay_range(
                endpoint=endpoint,
                start=data["start"],
                end=data["end"],
                failed_only=data["failed_only"],
            )
        return Response({"replayed": count}, status=status.HTTP_202_ACCEPTED)


def _fields(endpoint: WebhookEndpoint) -> dict:
    return {name: getattr(endpoint, name) for name in WebhookEndpointSerializer.Meta.fields}


class WebhookSettingsSerializer(serializers.ModelSerializer):
    allowed_networks = StrictCharField(allow_blank=True, required=False)
    allow_http = StrictBooleanField(required=False)
    clients_may_subscribe = StrictBooleanField(required=False)

    class Meta:
        model = WebhookSettings
        fields = ["allowed_networks", "allow_http", "clients_may_subscribe"]


class AdministratorsOnly(permissions.BasePermission):
    message = "Only administrators change webhook settings."

    def has_permission(self, request, view) -> bool:
        return request.user.role == UserRole.ADMIN


class WebhookSettingsView(GenericAPIView):
    """The MSP's webhook settings (one set): private networks targets may resolve to, plain
    http for test receivers, and whether client users may subscribe endpoints of their own."""

    serializer_class = WebhookSettingsSerializer
    permission_classes = [*GenericAPIView.permission_classes, AdministratorsOnly]

    def get(self, request):
        return Response(WebhookSettingsSerializer(WebhookSettings.current()).data)

    @extend_schema(
        examples=[
            OpenApiExample(
                "A private receiver network",
                value={"allowed_networks": "10.20.0.0/16"},
                request_only=True,
            )
        ]
    )
    def patch(self, request):
        current = WebhookSettings.current()
        serializer = WebhookSettingsSerializer(current, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        unchanged = WebhookSettingsSerializer(current).data  # what the request leaves as it is
        saved = services.webhook_settings_save(**{**unchanged, **serializer.validated_data})
        return Response(WebhookSettingsSerializer(saved).data)
