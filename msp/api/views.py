"""The directory over the API: clients, sites, contacts, assets (client users read their own),
users and teams (staff, read; teams written by administrators)."""

from django.db import transaction
from rest_framework import mixins

from msp.api.base import ScopedViewSet
from msp.api.serializers import (
    AssetSerializer,
    ClientSerializer,
    ContactSerializer,
    SiteSerializer,
    TeamSerializer,
    UserSerializer,
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


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    queryset = User.objects.staff().order_by("id")
    serializer_class = UserSerializer
    filterset_fields = ["role", "tier", "is_active"]


class TeamViewSet(DirectoryViewSet):
    queryset = Team.objects.prefetch_related("members", "clients").order_by("id")
    serializer_class = TeamSerializer
    client_users_allowed = False
    write_roles = (UserRole.ADMIN,)
    filterset_fields = ["tier"]

    def get_queryset(self):
        return self.queryset
