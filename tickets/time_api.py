"""Time entries over the API: a person's own time (and, for managers, the time of the clients
they see), changed, submitted, recalled, approved and rejected through the same services and
rules as the timesheet and approval pages, and the person's running timer.

Who sees what: staff see their own entries; managers (administrators and account managers)
also every entry of the clients they see. Client users: 403. Time is logged with
POST /tickets/{id}/log-time/."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from msp.api.base import ScopedViewSet, valid_data
from msp.api.filters import IdFilter
from msp.choices import SERVICE_MANAGER_ROLES
from tickets.api import TimeEntrySerializer
from tickets.choices import TimeEntryState, WorkType
from tickets.models import RunningTimer, Ticket, TimeEntry
from tickets.services import timekeeping


class TimeEntryFilterSet(filters.FilterSet):
    user = IdFilter(field_name="user_id")
    client = IdFilter(field_name="client_id")
    ticket = IdFilter(field_name="ticket_id")
    state = filters.ChoiceFilter(choices=TimeEntryState.choices)
    spent_from = filters.DateFilter(field_name="spent_on", lookup_expr="gte", label="From day")
    spent_before = filters.DateFilter(
        field_name="spent_on", lookup_expr="lt", label="Before day (exclusive)"
    )

    class Meta:
        model = TimeEntry
        fields = ["user", "client", "ticket", "state", "spent_from", "spent_before"]


class TimeEntryUpdateSerializer(serializers.Serializer):
    """What the author may change in a draft or rejected entry."""

    minutes = serializers.IntegerField(min_value=1, max_value=1440, required=False)
    started_at = serializers.DateTimeField(required=False, allow_null=True)
    ended_at = serializers.DateTimeField(required=False, allow_null=True)
    spent_on = serializers.DateField(required=False)
    billable = serializers.BooleanField(required=False)
    work_type = serializers.ChoiceField(choices=WorkType.choices, required=False)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class WeekSerializer(serializers.Serializer):
    week_start = serializers.DateField(help_text="Any day of the week (Monday to Sunday).")


class SubmittedSerializer(serializers.Serializer):
    submitted = serializers.IntegerField(help_text="How many drafts were submitted.")


class ApproveSerializer(serializers.Serializer):
    entries = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=1000
    )


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class TimerSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunningTimer
        fields = ["ticket", "started_at"]
        read_only_fields = fields


class TimerStartSerializer(serializers.Serializer):
    ticket = serializers.IntegerField(min_value=1)


class TimerStartedSerializer(serializers.Serializer):
    timer = TimerSerializer()
    stopped = TimeEntrySerializer(allow_null=True, help_text="The entry of the timer it stopped.")


class TimeEntryViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    queryset = TimeEntry.objects.all()
    serializer_class = TimeEntrySerializer
    filterset_class = TimeEntryFilterSet
    ordering_fields = ["spent_on", "created_at", "id"]
    ordering = ["-spent_on", "-id"]

    def get_queryset(self):
        entries = super().get_queryset()  # the clients the user sees
        user = self.request.user
        if user.role not in SERVICE_MANAGER_ROLES:
            entries = entries.filter(user=user)
        elif self.action not in ("list", "retrieve", "reject"):
            entries = entries.filter(user=user)  # changes: only one's own
        return entries.order_by("-spent_on", "-pk")

    # Changes by the author ----------------------------------------------------------------------

    @extend_schema(
        request=TimeEntryUpdateSerializer,
        responses=TimeEntrySerializer,
        examples=[
            OpenApiExample(
                "Start and end",
                value={
                    "started_at": "2026-11-30T14:00:00Z",
                    "ended_at": "2026-11-30T14:45:00Z",
                    "note": "Replaced the switch's power supply",
                },
                request_only=True,
            )
        ],
    )
    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        entry = self.get_object()
        data = valid_data(TimeEntryUpdateSerializer, request, partial=partial)
        entry = timekeeping.time_entry_update(entry=entry, user=request.user, **data)
        return Response(TimeEntrySerializer(entry).data)

    @extend_schema(
        request=TimeEntryUpdateSerializer,
        responses=TimeEntrySerializer,
        examples=[OpenApiExample("Not billable", value={"billable": False}, request_only=True)],
    )
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        timekeeping.time_entry_delete(entry=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=WeekSerializer,
        responses=SubmittedSerializer,
        examples=[
            OpenApiExample("This week", value={"week_start": "2026-11-30"}, request_only=True)
        ],
    )
    @action(detail=False, methods=["post"])
    def submit(self, request):
        """Submit every draft of the signed-in person's week for approval."""
        data = valid_data(WeekSerializer, request)
        count = timekeeping.time_entries_submit(user=request.user, week_start=data["week_start"])
        return Response({"submitted": count})

    @extend_schema(request=None, responses=TimeEntrySerializer)
    @action(detail=True, methods=["post"])
    def recall(self, request, pk=None):
        """Take a submitted entry back to draft (its author, before a manager decides)."""
        entry = timekeeping.time_entry_recall(entry=self.get_object(), user=request.user)
        return Response(TimeEntrySerializer(entry).data)

    # Decisions by managers ----------------------------------------------------------------------

    @extend_schema(
        request=ApproveSerializer,
        responses=TimeEntrySerializer(many=True),
        examples=[OpenApiExample("A week", value={"entries": [812, 813]}, request_only=True)],
    )
    @action(detail=False, methods=["post"])
    def approve(self, request):
        """Approve submitted entries (administrators and account managers, for the clients
        they see; their own time only by an administrator): all of them or, if one may not
        be approved, none."""
        _managers_only(request)
        data = valid_data(ApproveSerializer, request)
        visible = TimeEntry.objects.for_user(request.user).filter(pk__in=data["entries"])
        found = set(visible.values_list("pk", flat=True))
        missing = sorted(set(data["entries"]) - found)
        if missing:
            raise serializers.ValidationError(
                {"entries": [f"No such time entry: {', '.join(map(str, missing))}."]}
            )
        approved = timekeeping.time_entries_approve(entries=sorted(found), by=request.user)
        return Response(TimeEntrySerializer(approved, many=True).data)

    @extend_schema(
        request=RejectSerializer,
        responses=TimeEntrySerializer,
        examples=[
            OpenApiExample(
                "Wrong ticket",
                value={"reason": "This was the Globex printer, not Acme's: log it on #48190."},
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Send a submitted entry back to its author with the reason."""
        _managers_only(request)
        entry = self.get_object()
        data = valid_data(RejectSerializer, request)
        entry = timekeeping.time_entry_reject(entry=entry, by=request.user, reason=data["reason"])
        return Response(TimeEntrySerializer(entry).data)

    # The running timer --------------------------------------------------------------------------

    @extend_schema(responses={200: TimerSerializer, 404: None})
    @action(detail=False, methods=["get"])
    def timer(self, request):
        """The signed-in person's running timer (404 when none runs)."""
        timer = RunningTimer.objects.filter(user=request.user).first()
        if timer is None:
            raise NotFound("No timer is running.")
        return Response(TimerSerializer(timer).data)

    @extend_schema(
        request=TimerStartSerializer,
        responses={201: TimerStartedSerializer},
        examples=[OpenApiExample("On a ticket", value={"ticket": 1234}, request_only=True)],
    )
    @action(detail=False, methods=["post"], url_path="timer/start")
    def timer_start(self, request):
        """Start the person's timer on a ticket; a timer running on another ticket is stopped
        and its time logged (returned as `stopped`)."""
        data = valid_data(TimerStartSerializer, request)
        ticket = get_object_or_404(Ticket.objects.for_user(request.user), pk=data["ticket"])
        timer, stopped = timekeeping.timer_start(ticket=ticket, user=request.user)
        body = {
            "timer": TimerSerializer(timer).data,
            "stopped": TimeEntrySerializer(stopped).data if stopped else None,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={201: TimeEntrySerializer})
    @action(detail=False, methods=["post"], url_path="timer/stop")
    def timer_stop(self, request):
        """Stop the timer: a draft entry from its start to now, rounded up to the minute."""
        entry = timekeeping.timer_stop(user=request.user)
        return Response(TimeEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=False, methods=["post"], url_path="timer/discard")
    def timer_discard(self, request):
        """Throw the running timer away, logging nothing."""
        timekeeping.timer_discard(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _managers_only(request) -> None:
    if request.user.role not in SERVICE_MANAGER_ROLES:
        raise DjangoPermissionDenied("Only administrators and account managers approve time.")
