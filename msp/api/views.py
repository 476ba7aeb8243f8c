"""The directory over the API: clients, sites, contacts, assets (client users read their own),
users (administrators invite and change people), teams (written by administrators), and each
user's own notifications."""

from django.db import transaction
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from msp.api.base import ScopedViewSet
from msp.api.serializers import (
    AssetSerializer,
    ClientSerializer,
    ContactSerializer,
    MarkedReadSerializer,
    MarkReadSerializer,
    NotificationSerializer,
    SiteSerializer,
    TeamSerializer,
    UserSerializer,
    UserWriteSerializer,
)
from msp.choices import STAFF_ROLES, UserRole
from msp.models import Asset, Client, Contact, Notification, Site, Team, User
from msp.services import notifications_mark_read

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


class NotificationViewSet(mixins.ListModelMixin, ScopedViewSet):
    """The signed-in user's own notifications (the workspace's bell), newest first; anyone's
    own, staff or client user, and never anyone else's."""

    queryset = Notification.objects.all()
    serializer_class = NotificationSerializer
    client_users_allowed = True
    filterset_fields = {"read_at": ["isnull"]}  # ?read_at__isnull=true: the unread ones

    def get_queryset(self):
        return Notification.objects.filter(recipient=self.request.user).order_by("-pk")

    @extend_schema(request=MarkReadSerializer, responses=MarkedReadSerializer)
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request):
        serializer = MarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = notifications_mark_read(
            user=request.user, notification_ids=serializer.validated_data.get("ids")
        )
        return Response({"marked": marked})
