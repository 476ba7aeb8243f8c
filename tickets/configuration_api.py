"""The priority matrix and the inbound mailboxes over the API (registered by tickets/api_urls.py).
Staff read the matrix and administrators change it; mailboxes hold credentials and are
administrators' alone. A mailbox's password is written, never read back."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from msp.api.base import CleanModelSerializer, ScopedViewSet
from msp.api.fields import StrictCharField
from msp.choices import UserRole
from sla.choices import Priority
from tickets.choices import Impact, Urgency
from tickets.models import Mailbox
from tickets.services.configuration import (
    MAILBOX_FIELDS,
    mailbox_create,
    mailbox_update,
    priority_matrix,
    priority_matrix_set,
)


class AdministratorsOnly(permissions.BasePermission):
    message = "For administrators."

    def has_permission(self, request, view) -> bool:
        return request.user.role == UserRole.ADMIN


class PriorityCellSerializer(serializers.Serializer):
    impact = serializers.ChoiceField(choices=Impact.choices)
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    priority = serializers.ChoiceField(choices=Priority.choices)


class PriorityMatrixSerializer(serializers.Serializer):
    cells = PriorityCellSerializer(
        many=True, help_text="The cells to set; cells left out keep their priority."
    )


def _matrix_data() -> dict:
    return {
        "cells": [
            {"impact": impact, "urgency": urgency, "priority": priority}
            for (impact, urgency), priority in sorted(priority_matrix().items())
        ]
    }


class PriorityMatrixView(GenericAPIView):
    """Impact x urgency -> priority of new tickets (nine cells). Staff read it; administrators
    change it (PATCH the cells to change)."""

    serializer_class = PriorityMatrixSerializer
    write_roles = (UserRole.ADMIN,)

    def get(self, request):
        return Response(_matrix_data())

    @extend_schema(
        examples=[
            OpenApiExample(
                "A whole site down with work stopped is P1; one user's is P3",
                value={
                    "cells": [
                        {"impact": "high", "urgency": "high", "priority": "P1"},
                        {"impact": "low", "urgency": "high", "priority": "P3"},
                    ]
                },
                request_only=True,
            )
        ]
    )
    def patch(self, request):
        serializer = PriorityMatrixSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cells = {
            (cell["impact"], cell["urgency"]): cell["priority"]
            for cell in serializer.validated_data["cells"]
        }
        priority_matrix_set(cells=cells)
        return Response(_matrix_data())


MAILBOX_EXAMPLE = {
    "name": "support",
    "host": "imap.msp.example",
    "port": 993,
    "use_ssl": True,
    "username": "support@msp.example",
    "password": "app-password-from-the-mail-provider",
    "folder": "INBOX",
    "default_client": None,
    "is_active": True,
}


class MailboxSerializer(CleanModelSerializer):
    password = StrictCharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Written, never read back (encrypted at rest). Blank or left out on a "
        "change: the stored password stays.",
    )

    class Meta:
        model = Mailbox
        fields = ["id", *MAILBOX_FIELDS, "last_polled_at", "last_error"]
        read_only_fields = ["last_polled_at", "last_error"]

    def validate(self, attrs):
        if self.instance is None and not attrs.get("password"):
            raise serializers.ValidationError({"password": "A new mailbox needs its password."})
        if self.instance is not None and not attrs.get("password"):
            attrs.pop("password", None)
        return super().validate(attrs)

    def create(self, validated_data):
        return mailbox_create(**validated_data)

    def update(self, instance, validated_data):
        return mailbox_update(mailbox=instance, **validated_data)


@extend_schema_view(
    create=extend_schema(
        examples=[OpenApiExample("The support mailbox", value=MAILBOX_EXAMPLE, request_only=True)]
    ),
    update=extend_schema(
        examples=[OpenApiExample("The support mailbox", value=MAILBOX_EXAMPLE, request_only=True)]
    ),
    partial_update=extend_schema(
        examples=[
            OpenApiExample("Stop polling", value={"is_active": False}, request_only=True),
            OpenApiExample(
                "A new app password", value={"password": "n3w-app-pa55word"}, request_only=True
            ),
        ]
    ),
)
class MailboxViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    """Inbound mailboxes polled over IMAP. Deactivate one (is_active false) to stop polling
    it; mailboxes are not deleted (their emails point at them)."""

    queryset = Mailbox.objects.select_related("default_client").order_by("pk")
    serializer_class = MailboxSerializer
    permission_classes = [*ScopedViewSet.permission_classes, AdministratorsOnly]
    filterset_fields = ["is_active"]
    ordering_fields = ["id", "name"]
    ordering = ["id"]

    def get_queryset(self):
        return self.queryset  # administrators only, who see every client
