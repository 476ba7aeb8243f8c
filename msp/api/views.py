"""The directory over the API: clients, sites, contacts, assets (client users read their own),
users and teams (staff, read; teams written by administrators)."""

from django.db import transaction
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins

from msp.api.base import ScopedViewSet
from msp.api.serializers import (
    AssetSerializer,
    ClientSerializer,
    ContactSerializer,
    SiteSerializer,
    TeamSerializer,
    UserSerializer,
    UserWriteSerializer,
)
from msp.choices import STAFF_ROLES, UserRole
from msp.models import Asset, Client, Contact, Site, Team, User

DIRECTORY_MANAGERS = (UserRole.ADMIN, UserRole.DISPATCHER, UserRole.ACCOUNT_MANAGER)


class SavingMixin:
    """Writes go through one transaction; validation already ran the model's clean()."""

    def perform_create(self, serializer):
        with transaction.atomic():
            serializer.save()

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.save()


class DirectoryViewSet(
    SavingMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    client_users_allowed = True
    write_roles = STAFF_ROLES
    filterset_fields = ["client"]
    ordering_fields = ["id", "name", "updated_at"]
    ordering = ["id"]


class ClientViewSet(DirectoryViewSet):
    queryset = Client.objects.all()
    serializer_class = ClientSerializer
    write_roles = DIRECTORY_MANAGERS
    filterset_fields = ["status", "account_manager"]


class SiteViewSet(DirectoryViewSet):
    queryset = Site.objects.all()
    serializer_class = SiteSerializer


class ContactViewSet(DirectoryViewSet):
    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    filterset_fields = ["client", "site", "is_active", "email"]
    ordering_fields = ["id", "full_name", "updated_at"]


class AssetViewSet(DirectoryViewSet):
    queryset = Asset.objects.all()
    serializer_class = AssetSerializer
    filterset_fields = ["client", "site", "kind", "is_active", "hostname", "rmm_id"]


@extend_schema_view(
    create=extend_schema(
        request=UserWriteSerializer,
        responses={201: UserSerializer},
        examples=[
            OpenApiExample(
                "A technician",
                value={
                    "email": "sam@msp.example",
                    "full_name": "Sam Ng",
                    "role": "technician",
                    "tier": "L1",
                },
                request_only=True,
            ),
            OpenApiExample(
                "A client's user",
                value={
                    "email": "cio@acme.example",
                    "full_name": "Ada Acme",
                    "role": "client",
                    "client": 3,
                },
                request_only=True,
            ),
        ],
    ),
    update=extend_schema(request=UserWriteSerializer, responses=UserSerializer),
    partial_update=extend_schema(request=UserWriteSerializer, responses=UserSerializer),
)
class UserViewSet(
    SavingMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    """Staff (and, for staff, the client users of the clients they see). Administrators invite
    people and change their role, tier or details, or deactivate them (which ends their
    sessions and tokens)."""

    queryset = User.objects.order_by("id")
    serializer_class = UserSerializer
    filterset_fields = ["role", "tier", "is_active", "client"]
    write_roles = (UserRole.ADMIN,)

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return UserWriteSerializer
        return super().get_serializer_class()


class TeamViewSet(DirectoryViewSet):
    queryset = Team.objects.prefetch_related("members", "clients").order_by("id")
    serializer_class = TeamSerializer
    client_users_allowed = False
    write_roles = (UserRole.ADMIN,)
    filterset_fields = ["tier"]

    def get_queryset(self):
        return self.queryset
