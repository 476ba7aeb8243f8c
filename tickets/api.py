"""Tickets over the API: list (cursor-paginated, filtered, one query per page), detail with
SLA clocks, creation, and every action of the workspace as its own endpoint, calling the same
services. Client users see and open their own client's tickets and reply as the client."""

import functools
from datetime import UTC

from django import forms
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import ISO_8601, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from msp.api.base import ScopedRelationsMixin, ScopedViewSet
from msp.api.fields import IdField
from msp.api.filters import BooleanFilter, IdFilter
from msp.api.pagination import PagePagination, TicketCursorPagination
from msp.choices import STAFF_ROLES, Tier, UserRole
from msp.models import Asset, Client, Contact, Site, Team, User
from msp.prepared import instance_by_pk
from sla.choices import Priority
from sla.models import SLAClock
from tickets import selectors, services
from tickets.attachments import attachment_response
from tickets.choices import (
    Impact,
    TicketSource,
    TicketStatus,
    TicketType,
    Urgency,
    WorkType,
)
from tickets.filtersets import TicketFilterSet
from tickets.intake import alerts
from tickets.models import Attachment, Comment, Ticket, TimeEntry, TimelineEvent, UnroutedAlert

TICKET_FIELDS = [
    "id",
    "number",
    "client",
    "contact",
    "site",
    "asset",
    "subject",
    "type",
    "category",
    "source",
    "impact",
    "urgency",
    "priority",
    "status",
    "tier",
    "team",
    "assignee",
    "contract",
    "sla_policy",
    "parent",
    "merged_into",
    "sla_due_at",
    "sla_warn_at",
    "sla_breached",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "created_at",
    "updated_at",
]


def _requests(*pairs) -> list[OpenApiExample]:
    return [OpenApiExample(name, value=value, request_only=True) for name, value in pairs]


TICKET_CREATED_EXAMPLE = {
    "id": 48231,
    "number": "#48231",
    "client": 3,
    "contact": 17,
    "site": 5,
    "asset": 41,
    "subject": "ACME-FS01: S: drive 96 % full, scans to the share fail",
    "type": "incident",
    "category": "Storage",
    "source": "api",
    "impact": "medium",
    "urgency": "high",
    "priority": "P2",
    "status": "new",
    "tier": "L1",
    "team": 2,
    "assignee": None,
    "contract": 12,
    "sla_policy": 1,
    "parent": None,
    "merged_into": None,
    "sla_due_at": "2026-11-30T15:10:00Z",
    "sla_warn_at": "2026-11-30T14:55:00Z",
    "sla_breached": False,
    "first_response_at": None,
    "resolved_at": None,
    "closed_at": None,
    "created_at": "2026-11-30T14:40:00Z",
    "updated_at": "2026-11-30T14:40:00Z",
    "description": "Reported by Paula: the scanners on the 2nd floor say the share is full.",
    "priority_override_reason": "",
    "clocks": [
        {
            "kind": "response",
            "cycle": 1,
            "state": "running",
            "target_minutes": 30,
            "started_at": "2026-11-30T14:40:00Z",
            "due_at": "2026-11-30T15:10:00Z",
            "warn_at": "2026-11-30T14:55:00Z",
            "breached_at": None,
            "stopped_at": None,
            "spent_seconds": 0,
            "paused_seconds": 0,
        },
        {
            "kind": "resolution",
            "cycle": 1,
            "state": "running",
            "target_minutes": 480,
            "started_at": "2026-11-30T14:40:00Z",
            "due_at": "2026-12-01T12:40:00Z",
            "warn_at": "2026-12-01T10:40:00Z",
            "breached_at": None,
            "stopped_at": None,
            "spent_seconds": 0,
            "paused_seconds": 0,
        },
    ],
}


class ClockSerializer(serializers.ModelSerializer):
    class Meta:
        model = SLAClock
        fields = [
            "kind",
            "cycle",
            "state",
            "target_minutes",
            "started_at",
            "due_at",
            "warn_at",
            "breached_at",
            "stopped_at",
            "spent_seconds",
            "paused_seconds",
        ]


class TicketSerializer(serializers.ModelSerializer):
    class Meta:
        model = Ticket
        fields = TICKET_FIELDS
        read_only_fields = TICKET_FIELDS


class TicketDetailSerializer(TicketSerializer):
    clocks = ClockSerializer(source="sla_clocks", many=True, read_only=True)

    class Meta(TicketSerializer.Meta):
        fields = [*TICKET_FIELDS, "description", "priority_override_reason", "clocks"]
        read_only_fields = fields


class FreshFieldsMixin:
    """Each serializer instance gets its fields made anew from the declared ones' arguments,
    as DRF's deep copy does, without deep-copying those arguments (querysets, choices): a
    tenth of a ticket's creation went to copying them. Nothing changes the arguments;
    ScopedRelationsMixin replaces a copy's queryset, it does not change it."""

    def get_fields(self):
        return {
            name: type(field)(*field._args, **field._kwargs)
            for name, field in self._declared_fields.items()
        }


class TicketCreateSerializer(ScopedRelationsMixin, FreshFieldsMixin, serializers.Serializer):
    client = IdField(queryset=Client.objects.all(), required=False, help_text="Staff: required.")
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    contact = IdField(queryset=Contact.objects.all(), required=False)
    site = IdField(queryset=Site.objects.all(), required=False)
    asset = IdField(queryset=Asset.objects.all(), required=False)
    type = serializers.ChoiceField(choices=TicketType.choices, default=TicketType.INCIDENT)
    category = serializers.CharField(max_length=60, required=False, default="", allow_blank=True)
    impact = serializers.ChoiceField(choices=Impact.choices, default=Impact.LOW)
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.MEDIUM)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    priority_override_reason = serializers.CharField(required=False, default="", allow_blank=True)
    assignee = IdField(queryset=User.objects.staff(), required=False)
    team = IdField(queryset=Team.objects.all(), required=False)
    tier = serializers.ChoiceField(choices=Tier.choices, default=Tier.L1)

    def validate(self, attrs):
        user = self.context["request"].user
        if user.is_msp_staff:
            if "client" not in attrs:
                raise serializers.ValidationError({"client": "This field is required."})
        else:
            # A client user opens tickets for their own client, without staff-only fields.
            for name in ("assignee", "team", "priority"):
                if name in attrs:
                    raise serializers.ValidationError({name: "Only MSP staff may set this."})
            attrs["client"] = user.client
        # Whether the assignee serves the client is the service's rule (ticket_open).
        return attrs


class BodySerializer(serializers.Serializer):
    body = serializers.CharField(max_length=50_000)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class AssignSerializer(ScopedRelationsMixin, serializers.Serializer):
    assignee = IdField(queryset=User.objects.staff(), allow_null=True)
    team = IdField(queryset=Team.objects.all(), required=False, allow_null=True)


class TicketContactSerializer(ScopedRelationsMixin, serializers.Serializer):
    contact = IdField(
        queryset=Contact.objects.all(),
        allow_null=True,
        help_text="A contact of the ticket's client.",
    )


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    note = serializers.CharField(required=False, default="", allow_blank=True)


class PrioritySerializer(serializers.Serializer):
    impact = serializers.ChoiceField(choices=Impact.choices, required=False)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    reason = serializers.CharField(required=False, default="", allow_blank=True)


class ResolveSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=50_000)


class MergeSerializer(serializers.Serializer):
    into = serializers.IntegerField(help_text="The ticket this one is a duplicate of.")


class ParentSerializer(serializers.Serializer):
    parent = serializers.IntegerField(
        allow_null=True, help_text="The parent ticket (an incident's problem); null: no parent."
    )


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "comment", "created_at"]
        read_only_fields = fields


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The file, sent as multipart/form-data.")


class UnroutedAlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = UnroutedAlert
        fields = [
            "id",
            "source",
            "fingerprint",
            "status",
            "severity",
            "summary",
            "asset_reference",
            "client_reference",
            "reason",
            "scope_client",
            "received_at",
            "resolved_at",
        ]
        read_only_fields = fields


class RouteSerializer(serializers.Serializer):
    client = serializers.IntegerField(help_text="The client the alert belongs to.")


class RoutedSerializer(serializers.Serializer):
    ticket = serializers.IntegerField()
    action = serializers.CharField(help_text='What routing did: "opened", "repeated"...')


class TimeEntrySerializer(serializers.ModelSerializer):
    """A time entry and its approval. Written: the minutes, or a start and an end (the minutes
    are then end - start, rounded up to the whole minute, on the day it started); the state
    changes only through the submit, recall, approve and reject actions."""

    work_type = serializers.ChoiceField(choices=WorkType.choices, default=WorkType.REMOTE)

    class Meta:
        model = TimeEntry
        fields = [
            "id",
            "ticket",
            "client",
            "user",
            "minutes",
            "billable",
            "work_type",
            "note",
            "spent_on",
            "started_at",
            "ended_at",
            "state",
            "submitted_at",
            "decided_by",
            "decided_at",
            "rejection_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "ticket",
            "client",
            "user",
            "state",
            "submitted_at",
            "decided_by",
            "decided_at",
            "rejection_reason",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "spent_on": {"required": False},
            "minutes": {"required": False},
            "started_at": {"required": False},
            "ended_at": {"required": False},
        }


class CommentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Comment
        fields = ["id", "author", "is_public", "is_automatic", "body", "body_html", "created_at"]
        read_only_fields = fields


class TimelineEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = TimelineEvent
        fields = ["id", "kind", "actor", "at", "old_value", "new_value", "detail", "comment"]
        read_only_fields = fields


class UtcDateTimeField(forms.DateTimeField):
    """An ISO 8601 instant, turned into UTC here: the database would refuse offsets beyond
    its range (e.g. -20:44) with an error instead of a clear 400."""

    input_formats = [ISO_8601]

    def to_python(self, value):
        instant = super().to_python(value)
        if instant is None:
            return None
        if timezone.is_naive(instant):
            raise forms.ValidationError("Give a time zone offset, e.g. 2026-11-01T00:00:00Z.")
        try:
            return instant.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("This instant is out of range.") from None


class UtcDateTimeFilter(filters.Filter):
    field_class = UtcDateTimeField


class TicketApiFilterSet(TicketFilterSet):
    """The workspace filters, with plain ids (no choice lists to load) and polling helpers."""

    client = IdFilter(field_name="client_id")
    assignee = IdFilter(field_name="assignee_id")
    contract = IdFilter(field_name="contract_id")
    breached = BooleanFilter(field_name="sla_breached")
    updated_since = UtcDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label="Changed at or after (ISO 8601)"
    )
    created_since = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta(TicketFilterSet.Meta):
        fields = [
            "q",
            "client",
            "priority",
            "status",
            "tier",
            "assignee",
            "contract",
            "breached",
            "updated_since",
            "created_since",
        ]


@functools.cache
def _detail_serializer() -> TicketDetailSerializer:
    """One TicketDetailSerializer for the process, for answers made from objects in hand: a
    ModelSerializer builds its fields from the model on every instance (a third of a create's
    time in the serializers), and these read-only fields keep no state between objects."""
    return TicketDetailSerializer()


@functools.cache
def _comment_serializer() -> CommentSerializer:
    """As _detail_serializer, for the comment a reply or note has just made."""
    return CommentSerializer()


def _staff_only(request) -> None:
    if not request.user.is_msp_staff:
        raise PermissionDenied("This action is for MSP staff.")


class TicketViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet
):
    queryset = Ticket.objects.all()
    pagination_class = TicketCursorPagination
    filterset_class = TicketApiFilterSet
    client_users_allowed = True
    write_roles = (*STAFF_ROLES, UserRole.CLIENT)

    def get_queryset(self):
        tickets = super().get_queryset()
        if self.action == "retrieve":
            clocks = SLAClock.objects.order_by("kind", "cycle")
            return tickets.prefetch_related(Prefetch("sla_clocks", queryset=clocks))
        return tickets

    def get_serializer_class(self):
        if self.action == "retrieve":
            return TicketDetailSerializer
        if self.action == "create":
            return TicketCreateSerializer
        return TicketSerializer

    @extend_schema(
        request=TicketCreateSerializer,
        responses={201: TicketDetailSerializer},
        examples=[
            *_requests(
                (
                    "An incident logged by the service desk",
                    {
                        "client": 3,
                        "subject": "ACME-FS01: S: drive 96 % full, scans to the share fail",
                        "description": (
                            "Reported by Paula: the scanners on the 2nd floor say the share is"
                            " full."
                        ),
                        "contact": 17,
                        "site": 5,
                        "asset": 41,
                        "type": "incident",
                        "category": "Storage",
                        "impact": "medium",
                        "urgency": "high",
                        "team": 2,
                    },
                ),
                (
                    "A priority set by hand",
                    {
                        "client": 8,
                        "subject": "CFO's laptop does not boot (BitLocker recovery screen)",
                        "contact": 23,
                        "impact": "low",
                        "urgency": "high",
                        "priority": "P2",
                        "priority_override_reason": "Board meeting at 14:00; no spare device.",
                        "assignee": 7,
                        "tier": "L2",
                    },
                ),
                (
                    "A client user's request (portal token)",
                    {
                        "subject": "New starter on 2026-12-07: laptop and mailbox",
                        "description": "Jordan Lee, sales, starts Monday 7 December.",
                        "type": "service_request",
                        "category": "Onboarding",
                    },
                ),
            ),
            OpenApiExample(
                "Opened, with its clocks running",
                value=TICKET_CREATED_EXAMPLE,
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def create(self, request, *args, **kwargs):
        serializer = TicketCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        ticket = services.ticket_open(
            **data,
            source=TicketSource.API if request.user.is_msp_staff else TicketSource.PORTAL,
            created_by=request.user,
        )
        # The new ticket comes back from ticket_open with its clocks: nothing to read again.
        shown = _detail_serializer().to_representation(ticket)
        return Response(shown, status=status.HTTP_201_CREATED)

    def find_object(self):
        # By id without query parameters (no filter to apply): the ticket through queries
        # compiled once per process, its scope told from its client (the ORM's get() was
        # most of the CPU of an action on a ticket).
        if self.request.query_params:
            return super().find_object()
        pk = self.kwargs["pk"]
        if not pk.isdigit():
            raise Http404
        if self.action == "retrieve":
            ticket = selectors.ticket_with_clocks(int(pk), missing_ok=True)
        else:
            ticket = instance_by_pk(Ticket, int(pk))
        if ticket is None or not Ticket.objects.all().sees(ticket, self.request.user):
            raise Http404
        self.check_object_permissions(self.request, ticket)
        return ticket

    def retrieve(self, request, *args, **kwargs):
        return Response(_detail_serializer().to_representation(self.get_object()))

    def _ticket_response(self, ticket, code=status.HTTP_200_OK):
        shown = _detail_serializer().to_representation(selectors.ticket_with_clocks(ticket.pk))
        return Response(shown, status=code)

    def _act(self, request, serializer_class, perform, code=status.HTTP_200_OK):
        ticket = self.get_object()
        data = {}
        if serializer_class is not None:
            serializer = serializer_class(data=request.data, context={"request": request})
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        # A refusal because of the ticket's state is a ValidationError with code "conflict",
        # answered 409 by msp.api.errors; any other is 400.
        result = perform(ticket, data)
        if isinstance(result, Ticket):
            return self._ticket_response(result, code)
        return Response(result, status=code)

    @extend_schema(
        request=BodySerializer,
        responses={201: CommentSerializer},
        examples=_requests(
            (
                "A reply to the client",
                {
                    "body": (
                        "Hi Paula, we freed 40 GB on the S: drive and scans save again. We will"
                        " keep an eye on it until tomorrow before we close the ticket."
                    )
                },
            )
        ),
    )
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        """A public reply (staff), or a message from the client (client users)."""

        def perform(ticket, data):
            if request.user.is_msp_staff:
                comment = services.ticket_reply(
                    ticket=ticket, author=request.user, body=data["body"]
                )
            else:
                comment = services.ticket_client_message(
                    ticket=ticket, author=request.user, body=data["body"]
                )
            return _comment_serializer().to_representation(comment)

        return self._act(request, BodySerializer, perform, status.HTTP_201_CREATED)

    @extend_schema(
        request=BodySerializer,
        responses={201: CommentSerializer},
        examples=_requests(
            (
                "An internal note",
                {
                    "body": (
                        "Shadow copies were using 38 % of S:. Limited them to 10 % with vssadmin;"
                        " check free space again on 2026-12-01."
                    )
                },
            )
        ),
    )
    @action(detail=True, methods=["post"])
    def note(self, request, pk=None):
        """An internal note (staff only; never shown to the client)."""
        _staff_only(request)

        def perform(ticket, data):
            comment = services.ticket_note(ticket=ticket, author=request.user, body=data["body"])
            return _comment_serializer().to_representation(comment)

        return self._act(request, BodySerializer, perform, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=TicketDetailSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        _staff_only(request)
        return self._act(
            request,
            None,
            lambda ticket, data: services.ticket_acknowledge(ticket=ticket, actor=request.user),
        )

    @extend_schema(
        request=AssignSerializer,
        responses=TicketDetailSerializer,
        examples=_requests(
            ("To a technician of a team", {"assignee": 7, "team": 2}),
            ("Back to the queue", {"assignee": None}),
        ),
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        _staff_only(request)
        return self._act(
            request,
            AssignSerializer,
            lambda ticket, data: services.ticket_assign(ticket=ticket, actor=request.user, **data),
        )

    @extend_schema(
        request=TicketContactSerializer,
        responses=TicketDetailSerializer,
        examples=_requests(
            ("The client's office manager", {"contact": 17}),
            ("No contact", {"contact": None}),
        ),
    )
    @action(detail=True, methods=["post"])
    def contact(self, request, pk=None):
        """Set the contact that public replies are emailed to."""
        _staff_only(request)
        return self._act(
            request,
            TicketContactSerializer,
            lambda ticket, data: services.ticket_set_contact(
                ticket=ticket, actor=request.user, contact=data["contact"]
            ),
        )

    @extend_schema(
        request=StatusSerializer,
        responses=TicketDetailSerializer,
        examples=_requests(
            (
                "Waiting on the client",
                {
                    "status": "waiting_on_client",
                    "note": "Asked Paula which share the scanners save to.",
                },
            ),
            (
                "An onsite visit booked",
                {"status": "scheduled", "note": "Onsite at Plant 2 on 2026-12-02 at 09:00."},
            ),
            ("Work started", {"status": "in_progress"}),
        ),
    )
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        _staff_only(request)
        return self._act(
            request,
            StatusSerializer,
            lambda ticket, data: services.ticket_change_status(
                ticket=ticket, actor=request.user, **data
            ),
        )

    @extend_schema(
        request=PrioritySerializer,
        responses=TicketDetailSerializer,
        examples=_requests(
            (
                "Wider impact",
                {"impact": "high", "urgency": "high", "reason": "Now all of Plant 2 is affected."},
            ),
            (
                "Set by hand",
                {"priority": "P3", "reason": "Workaround in place: scans go to e-mail for now."},
            ),
        ),
    )
    @action(detail=True, methods=["post"])
    def priority(self, request, pk=None):
        _staff_only(request)
        return self._act(
            request,
            PrioritySerializer,
            lambda ticket, data: services.ticket_change_priority(
                ticket=ticket, actor=request.user, **data
            ),
        )

    @extend_schema(
        request=ReasonSerializer,
        responses=TicketDetailSerializer,
        examples=_requests(
            (
                "To a storage engineer",
                {"reason": "The RAID controller of ACME-FS01 reports a degraded array (disk 3)."},
            )
        ),
    )
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        _staff_only(request)
        return self._act(
            request,
            ReasonSerializer,
            lambda ticket, data: services.ticket_escalate(
                ticket=ticket, actor=request.user, reason=data["reason"]
            ),
        )

    @extend_schema(
        request=ResolveSerializer,
        responses=TicketDetailSerializer,
        examples=_requests(
            (
                "Resolved",
                {
                    "resolution": (
                        "Replaced disk 3 of ACME-FS01 (RMA 88213); the array rebuilt overnight and"
                        " S: has 210 GB free. Shadow copies are capped at 10 %."
                    )
                },
            )
        ),
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        _staff_only(request)
        return self._act(
            request,
            ResolveSerializer,
            lambda ticket, data: services.ticket_resolve(
                ticket=ticket, actor=request.user, resolution=data["resolution"]
            ),
        )

    @extend_schema(
        request=ReasonSerializer,
        responses=TicketDetailSerializer,
        examples=_requests(
            ("It happened again", {"reason": "The scanners say the share is full again today."})
        ),
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """Reopen a resolved ticket (staff, or the client within the reopen period)."""
        return self._act(
            request,
            ReasonSerializer,
            lambda ticket, data: services.ticket_reopen(
                ticket=ticket, actor=request.user, reason=data["reason"]
            ),
        )

    @extend_schema(
        request=MergeSerializer,
        responses=TicketDetailSerializer,
        examples=_requests(("A duplicate of an open ticket", {"into": 48190})),
    )
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """Merge this ticket into another of the same client (this one is closed)."""
        _staff_only(request)

        def perform(ticket, data):
            target = self.get_queryset().filter(pk=data["into"]).first()
            if target is None:
                raise serializers.ValidationError({"into": "No such ticket."})
            services.ticket_merge(source=ticket, target=target, actor=request.user)
            return ticket  # the duplicate, now closed and pointing at its target

        return self._act(request, MergeSerializer, perform)

    @extend_schema(request=None, responses=TicketDetailSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close a resolved ticket (or one that needs no resolution)."""
        _staff_only(request)
        return self._act(
            request,
            None,
            lambda ticket, data: services.ticket_close(ticket=ticket, actor=request.user),
        )

    @extend_schema(
        request=ParentSerializer,
        responses=TicketDetailSerializer,
        examples=_requests(
            ("Under its problem", {"parent": 48200}),
            ("Unlinked", {"parent": None}),
        ),
    )
    @action(detail=True, methods=["post"])
    def parent(self, request, pk=None):
        """Link the ticket under a parent (an incident under its problem), or unlink it."""
        _staff_only(request)

        def perform(ticket, data):
            parent = None
            if data["parent"] is not None:
                parent = self.get_queryset().filter(pk=data["parent"]).first()
                if parent is None:
                    raise serializers.ValidationError({"parent": "No such ticket."})
            return services.ticket_link_parent(ticket=ticket, parent=parent, actor=request.user)

        return self._act(request, ParentSerializer, perform)

    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": UploadSerializer},
        responses={201: AttachmentSerializer},
        examples=[
            OpenApiExample(
                "An event log export",
                value={"file": "acme-fs01-system.evtx"},
                media_type="multipart/form-data",
                description=(
                    "The file's bytes, sent as multipart/form-data:"
                    ' curl -F "file=@acme-fs01-system.evtx" .../tickets/48231/attachments/'
                ),
                request_only=True,
            )
        ],
    )
    @extend_schema(methods=["GET"], responses=AttachmentSerializer(many=True))
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser])
    def attachments(self, request, pk=None):
        """The ticket's files (GET), or add one (POST, multipart/form-data, field "file"), by
        the same rules as the ticket page: size, type and name checked, kept with the ticket."""
        ticket = self.get_object()
        if request.method == "GET":
            files = ticket.attachments.order_by("created_at", "pk")
            if not request.user.is_msp_staff:
                files = files.filter(Q(comment__isnull=True) | Q(comment__is_public=True))
            return self._paged(files, AttachmentSerializer)
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attachment = services.attachment_add(
            ticket=ticket, upload=serializer.validated_data["file"], user=request.user
        )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>[0-9]+)",
        url_name="attachment",
    )
    def attachment(self, request, pk=None, attachment_id=None):
        """One file of the ticket, as it was uploaded."""
        ticket = self.get_object()
        files = ticket.attachments.all()
        if not request.user.is_msp_staff:
            files = files.filter(Q(comment__isnull=True) | Q(comment__is_public=True))
        attachment = get_object_or_404(files, pk=attachment_id)
        return attachment_response(attachment)

    @extend_schema(
        request=TimeEntrySerializer,
        responses={201: TimeEntrySerializer},
        examples=_requests(
            (
                "Remote work",
                {
                    "minutes": 45,
                    "billable": True,
                    "work_type": "remote",
                    "note": "Freed space on S:, capped shadow copies at 10 %.",
                    "spent_on": "2026-11-30",
                },
            ),
            (
                "An onsite visit",
                {
                    "minutes": 120,
                    "billable": True,
                    "work_type": "onsite",
                    "note": "Swapped disk 3 in ACME-FS01.",
                    "spent_on": "2026-12-02",
                },
            ),
        ),
    )
    @action(detail=True, methods=["post"], url_path="log-time")
    def log_time(self, request, pk=None):
        _staff_only(request)

        def perform(ticket, data):
            entry = services.time_entry_log(ticket=ticket, user=request.user, **data)
            return TimeEntrySerializer(entry).data

        return self._act(request, TimeEntrySerializer, perform, status.HTTP_201_CREATED)

    @extend_schema(responses=CommentSerializer(many=True))
    @action(detail=True, methods=["get"])
    def comments(self, request, pk=None):
        """The conversation; client users see public comments only."""
        comments = self.get_object().comments.order_by("created_at", "pk")
        if not request.user.is_msp_staff:
            comments = comments.filter(is_public=True)
        return self._paged(comments, CommentSerializer)

    @extend_schema(responses=TimeEntrySerializer(many=True))
    @action(detail=True, methods=["get"], url_path="time-entries")
    def time_entries(self, request, pk=None):
        _staff_only(request)
        return self._paged(
            self.get_object().time_entries.order_by("spent_on", "pk"), TimeEntrySerializer
        )

    @extend_schema(responses=TimelineEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        """The timeline (staff)."""
        _staff_only(request)
        return self._paged(self.get_object().events.order_by("at", "pk"), TimelineEventSerializer)

    def _paged(self, queryset, serializer_class):
        paginator = PagePagination()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


class UnroutedAlertViewSet(mixins.ListModelMixin, ScopedViewSet):
    """Alerts kept because their client or asset was unknown, waiting to be routed (as on the
    Unrouted alerts page): dispatchers and administrators list them and route one to a client,
    which opens (or repeats) its ticket by the alert rules."""

    queryset = UnroutedAlert.objects.all()
    serializer_class = UnroutedAlertSerializer
    write_roles = (UserRole.DISPATCHER, UserRole.ADMIN)
    filterset_fields = ["source", "severity"]

    def get_queryset(self):
        if self.request.user.role not in (UserRole.DISPATCHER, UserRole.ADMIN):
            raise PermissionDenied("Unrouted alerts are for dispatchers and administrators.")
        # Alerts of no known client are everyone's to route; a client's, theirs who see it.
        visible = self.request.user.visible_clients()
        return (
            UnroutedAlert.objects.filter(routed_at__isnull=True)
            .filter(Q(scope_client__isnull=True) | visible.q("scope_client"))
            .order_by("-received_at", "-pk")
        )

    @extend_schema(
        request=RouteSerializer,
        responses=RoutedSerializer,
        examples=[
            *_requests(("To its client", {"client": 3})),
            OpenApiExample(
                "A ticket opened", value={"ticket": 48240, "action": "opened"}, response_only=True
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def route(self, request, pk=None):
        unrouted = self.get_object()
        serializer = RouteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        client = (
            alerts.unrouted_clients(unrouted=unrouted, user=request.user)
            .filter(pk=serializer.validated_data["client"])
            .first()
        )
        if client is None:
            raise serializers.ValidationError(
                {"client": "Choose a client this alert may be routed to."}
            )
        outcome = alerts.unrouted_alert_route(unrouted=unrouted, client=client, actor=request.user)
        return Response({"ticket": outcome.ticket_id, "action": outcome.action})
