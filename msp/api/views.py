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


def _request_examples(*, create: list[tuple], change: list[tuple]) -> dict:
    """Request examples of a directory resource: `create` (a whole object) for POST and PUT,
    `change` (one or two fields) for PATCH."""

    def examples(pairs):
        return [OpenApiExample(name, value=value, request_only=True) for name, value in pairs]

    return {
        "create": extend_schema(examples=examples(create)),
        "update": extend_schema(examples=examples(create)),
        "partial_update": extend_schema(examples=examples(change)),
    }


CLIENT_EXAMPLE = {
    "name": "Acme Manufacturing",
    "slug": "acme",
    "timezone": "America/New_York",
    "status": "onboarding",
    "account_manager": 4,
    "email_domains": "acme.example, acme-mfg.example",
    "notes": "Onboarding from their previous MSP; RMM agents roll out 2026-12-07.",
}
SITE_EXAMPLE = {
    "client": 3,
    "name": "Plant 2",
    "address": "40 River Rd, Troy NY 12180",
    "timezone": "America/New_York",
}
CONTACT_EXAMPLE = {
    "client": 3,
    "site": 5,
    "full_name": "Paula Reyes",
    "email": "paula.reyes@acme.example",
    "phone": "+1 518 555 0142",
    "job_title": "Office manager",
    "role": "primary",
    "is_active": True,
    "is_seat": True,
    "receives_reports": True,
}
ASSET_EXAMPLE = {
    "client": 3,
    "site": 5,
    "kind": "server",
    "name": "ACME-FS01",
    "hostname": "acme-fs01.acme.local",
    "serial_number": "CZ20310X7Q",
    "rmm_id": "rmm-acme-002",
    "is_active": True,
    "notes": "File server, Windows Server 2022; backed up nightly to the Datto appliance.",
}
TEAM_EXAMPLE = {
    "name": "Service desk",
    "tier": "L1",
    "lead": 6,
    "members": [6, 7, 11],
    "email": "servicedesk@msp.example",
    "serves_all_clients": False,
    "clients": [3, 8, 12],
}
USER_EXAMPLE = {
    "email": "kim.tran@msp.example",
    "full_name": "Kim Tran",
    "role": "technician",
    "tier": "L2",
    "client": None,
    "phone": "+1 518 555 0199",
    "is_active": True,
}


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


@extend_schema_view(
    **_request_examples(
        create=[("A new client", CLIENT_EXAMPLE)],
        change=[
            ("Onboarding done", {"status": "active"}),
            ("Another account manager", {"account_manager": 9}),
        ],
    )
)
class ClientViewSet(DirectoryViewSet):
    queryset = Client.objects.all()
    serializer_class = ClientSerializer
    write_roles = DIRECTORY_MANAGERS
    filterset_fields = ["status", "account_manager"]


@extend_schema_view(
    **_request_examples(
        create=[("A second office", SITE_EXAMPLE)],
        change=[("The site moved", {"address": "12 Canal St, Cohoes NY 12047"})],
    )
)
class SiteViewSet(DirectoryViewSet):
    queryset = Site.objects.all()
    serializer_class = SiteSerializer


@extend_schema_view(
    **_request_examples(
        create=[("The client's office manager", CONTACT_EXAMPLE)],
        change=[
            ("A new job title", {"job_title": "IT coordinator", "role": "technical"}),
            ("Left the company", {"is_active": False, "is_seat": False}),
        ],
    )
)
class ContactViewSet(DirectoryViewSet):
    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    filterset_fields = ["client", "site", "is_active", "email"]
    ordering_fields = ["id", "full_name", "updated_at"]


@extend_schema_view(
    **_request_examples(
        create=[
            ("A server from the RMM", ASSET_EXAMPLE),
            (
                "A laptop",
                {
                    "client": 3,
                    "kind": "laptop",
                    "name": "ACME-LT-022",
                    "hostname": "acme-lt-022",
                    "serial_number": "5CG3412KJD",
                    "rmm_id": "rmm-acme-022",
                },
            ),
        ],
        change=[
            ("Decommissioned", {"is_active": False, "notes": "Retired 2026-11-27, disk shredded."}),
            ("Re-enrolled in the RMM", {"rmm_id": "rmm-acme-002b"}),
        ],
    )
)
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
    update=extend_schema(
        request=UserWriteSerializer,
        responses=UserSerializer,
        examples=[OpenApiExample("A technician's details", value=USER_EXAMPLE, request_only=True)],
    ),
    partial_update=extend_schema(
        request=UserWriteSerializer,
        responses=UserSerializer,
        examples=[
            OpenApiExample("Promoted to L2", value={"tier": "L2"}, request_only=True),
            OpenApiExample("Left the MSP", value={"is_active": False}, request_only=True),
        ],
    ),
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

    queryset = User.objects.prefetch_related("teams").order_by("id")
    serializer_class = UserSerializer
    filterset_fields = ["role", "tier", "is_active", "client"]
    write_roles = (UserRole.ADMIN,)

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return UserWriteSerializer
        return super().get_serializer_class()


@extend_schema_view(
    **_request_examples(
        create=[("The service desk", TEAM_EXAMPLE)],
        change=[
            ("A new member", {"members": [6, 7, 11, 14]}),
            ("Serves every client", {"serves_all_clients": True, "clients": []}),
        ],
    )
)
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

    @extend_schema(
        request=MarkReadSerializer,
        responses=MarkedReadSerializer,
        examples=[
            OpenApiExample("These three", value={"ids": [1041, 1043, 1050]}, request_only=True),
            OpenApiExample("Every unread one", value={}, request_only=True),
            OpenApiExample("Marked", value={"marked": 3}, response_only=True),
        ],
    )
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request):
        serializer = MarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = notifications_mark_read(
            user=request.user, notification_ids=serializer.validated_data.get("ids")
        )
        return Response({"marked": marked})
