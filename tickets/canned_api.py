"""Canned responses over the API (registered by tickets/api_urls.py): a staff member's own and
the shared ones, with the same rules as the page (tickets/canned.py), and `fill`, the text
with its placeholders filled for one ticket, as the composer inserts it."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from msp.api.base import CleanModelSerializer, ScopedViewSet
from msp.api.fields import StrictBooleanField
from tickets import canned
from tickets.models import CannedResponse, Ticket

EXAMPLE = {
    "title": "Reboot first",
    "body": "Hello {{contact.first_name}},\n\nplease restart the PC and tell us on "
    "{{ticket.number}} if it helps.",
    "shared": False,
}


class CannedResponseSerializer(CleanModelSerializer):
    shared = StrictBooleanField(
        required=False,
        default=False,
        help_text="Shared with every staff member (administrators and dispatchers only).",
    )
    unknown_placeholders = serializers.SerializerMethodField()

    class Meta:
        model = CannedResponse
        fields = ["id", "title", "body", "shared", "unknown_placeholders", "updated_at"]
        read_only_fields = ["updated_at"]

    def clean_exclude(self) -> list[str]:
        return ["owner"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["shared"] = instance.owner_id is None
        return data

    def get_unknown_placeholders(self, instance) -> list[str]:
        return canned.unknown_placeholders(instance.body)

    def save_with(self, instance=None):
        data = self.validated_data
        return canned.canned_response_save(
            user=self.context["request"].user,
            title=data.get("title", instance.title if instance else ""),
            body=data.get("body", instance.body if instance else ""),
            shared=data.get("shared", instance.is_shared if instance else False),
            canned=instance,
        )


class FillSerializer(serializers.Serializer):
    ticket = serializers.IntegerField(min_value=1, help_text="A ticket you see.")


class FilledSerializer(serializers.Serializer):
    text = serializers.CharField()
    unknown = serializers.ListField(child=serializers.CharField())


@extend_schema_view(
    create=extend_schema(examples=[OpenApiExample("Own", value=EXAMPLE, request_only=True)]),
    update=extend_schema(examples=[OpenApiExample("Own", value=EXAMPLE, request_only=True)]),
    partial_update=extend_schema(
        examples=[OpenApiExample("Retitle", value={"title": "Restart"}, request_only=True)]
    ),
)
class CannedResponseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    """Your canned responses and the shared ones (nobody else's). Shared ones are kept by
    administrators and dispatchers. Placeholders (`{{contact.name}}`, `{{ticket.number}}`,
    `{{sla.due}}`...) are listed in tickets/canned.py and filled by `fill`."""

    queryset = CannedResponse.objects.all()
    serializer_class = CannedResponseSerializer
    ordering_fields = ["id", "title"]
    ordering = ["title", "id"]

    def get_queryset(self):
        return canned.canned_for_user(self.request.user).order_by("title", "pk")

    def perform_create(self, serializer):
        serializer.instance = serializer.save_with()

    def perform_update(self, serializer):
        serializer.instance = serializer.save_with(serializer.instance)

    def perform_destroy(self, instance):
        canned.canned_response_delete(user=self.request.user, canned=instance)

    @extend_schema(
        request=FillSerializer,
        responses=FilledSerializer,
        examples=[OpenApiExample("For ticket 42", value={"ticket": 42}, request_only=True)],
    )
    @action(detail=True, methods=["post"])
    def fill(self, request, pk=None):
        """The text with its placeholders filled for a ticket (unknown ones left, and named)."""
        response = self.get_object()
        data = FillSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = get_object_or_404(
            Ticket.objects.for_user(request.user).select_related("client", "contact"),
            pk=data.validated_data["ticket"],
        )
        filled = canned.canned_fill(body=response.body, ticket=ticket, user=request.user)
        return Response({"text": filled.text, "unknown": list(filled.unknown)})
