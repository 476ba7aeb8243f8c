"""Reports over the API: staff see every version, a client user the reports sent to their own
organisation (another client's is a 404). Account managers and administrators generate a new
version of a period's report, annotate it and send it, through the same services as the report
pages. The PDF and the CSV are actions of a report."""

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from msp.api.base import ScopedViewSet, valid_data
from msp.api.fields import IdField
from msp.choices import SERVICE_MANAGER_ROLES, PeriodKind
from msp.models import Client, Contact
from msp.periods import Period
from reporting.downloads import report_file_response
from reporting.models import Report
from reporting.selectors import report_recipient_choices, report_recipient_options
from reporting.services import report_annotate, report_generate, report_send


class ReportSerializer(serializers.ModelSerializer):
    class Meta:
        model = Report
        fields = [
            "id",
            "client",
            "kind",
            "period_start",
            "version",
            "summary",
            "recommendations",
            "generated_at",
            "sent_at",
            "figures",
        ]
        read_only_fields = fields


class ReportGenerateSerializer(serializers.Serializer):
    client = IdField(queryset=Client.objects.none())
    kind = serializers.ChoiceField(choices=PeriodKind.choices)
    period_start = serializers.DateField(help_text="The first day of the month or quarter.")

    def get_fields(self):
        fields = super().get_fields()
        fields["client"].queryset = Client.objects.for_user(self.context["request"].user)
        return fields

    def validate(self, attrs):
        try:
            attrs["period"] = Period(attrs.pop("kind"), attrs.pop("period_start"))
        except ValueError as error:
            raise serializers.ValidationError({"period_start": str(error)}) from None
        return attrs


class ReportAnnotateSerializer(serializers.Serializer):
    summary = serializers.CharField(allow_blank=True, max_length=10_000)
    recommendations = serializers.CharField(allow_blank=True, max_length=10_000)


class ReportSendSerializer(serializers.Serializer):
    contacts = IdField(
        many=True,
        queryset=Contact.objects.none(),
        required=False,
        allow_empty=False,
        help_text="Ids of the client's contacts to send it to (active, with an email address; "
        "see .../recipients/). Left out: the client's report recipients.",
    )

    def get_fields(self):
        fields = super().get_fields()
        # Another client's contact is "Invalid pk", as if it did not exist.
        # The report being sent is the serializer's instance (none when the schema is drawn).
        if self.instance is not None:
            choices = report_recipient_choices(self.instance.client)
            fields["contacts"].child_relation.queryset = choices
        return fields


class ReportSentSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="Emails queued (0: every recipient had it).")


class ReportRecipientSerializer(serializers.Serializer):
    contact = serializers.IntegerField(source="contact.pk")
    full_name = serializers.CharField(source="contact.full_name")
    email = serializers.EmailField(source="contact.email")
    role = serializers.CharField(source="contact.role")
    default = serializers.BooleanField(help_text="Chosen when the send names no contacts.")
    sent_at = serializers.DateTimeField(
        source="delivery.sent_at", allow_null=True, help_text="When this version went to them."
    )
    sent_by = serializers.IntegerField(
        source="delivery.sent_by_id",
        allow_null=True,
        help_text="Staff who sent it; null: the schedule.",
    )


class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    queryset = Report.objects.order_by("id")
    serializer_class = ReportSerializer
    client_users_allowed = True
    write_roles = SERVICE_MANAGER_ROLES
    filterset_fields = ["client", "kind", "period_start"]

    @extend_schema(
        request=ReportGenerateSerializer,
        responses={201: ReportSerializer},
        examples=[
            OpenApiExample(
                "October 2026",
                value={"client": 3, "kind": "month", "period_start": "2026-10-01"},
                request_only=True,
            )
        ],
    )
    def create(self, request):
        """Generate a new version of a finished period's report (its figures are stored)."""
        data = valid_data(ReportGenerateSerializer, request)
        report = report_generate(client=data["client"], period=data["period"], by=request.user)
        return Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ReportAnnotateSerializer,
        responses=ReportSerializer,
        examples=[
            OpenApiExample(
                "The account manager's notes",
                value={
                    "summary": (
                        "148 tickets in October, 97.3 % of P1 and P2 responses on time. The two"
                        " breaches were the ISP outage at Plant 2 on 2026-10-18."
                    ),
                    "recommendations": (
                        "Add a second ISP line at Plant 2 before Q1 2027; replace the six"
                        " laptops out of warranty (ACME-LT-003 to -008)."
                    ),
                },
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def annotate(self, request, pk=None):
        """The account manager's summary and recommendations; the figures stay as generated."""
        report = self.get_object()
        data = valid_data(ReportAnnotateSerializer, request)
        report = report_annotate(report=report, by=request.user, **data)
        return Response(ReportSerializer(report).data)

    @extend_schema(
        request=ReportSendSerializer,
        responses=ReportSentSerializer,
        examples=[OpenApiExample("Two contacts", value={"contacts": [12, 15]}, request_only=True)],
    )
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """Email the report (PDF attached) to the contacts named, or to the client's report
        recipients when none are, once per contact and version; each email is recorded (see
        .../recipients/) and the report then shows in the client's portal."""
        report = self.get_object()
        data = valid_data(ReportSendSerializer, request, instance=report)
        try:
            queued = report_send(report=report, contacts=data.get("contacts"), by=request.user)
        except ValidationError as error:
            detail = error.message_dict if hasattr(error, "error_dict") else error.messages
            raise serializers.ValidationError(detail) from None
        return Response({"queued": queued})

    @extend_schema(responses=ReportRecipientSerializer(many=True))
    @action(detail=True, methods=["get"])
    def recipients(self, request, pk=None):
        """The client's contacts this report may be sent to: which are chosen by default and
        whether (when, by whom) this version was sent to them. Staff only."""
        if not request.user.is_msp_staff:
            raise exceptions.PermissionDenied("Staff only.")
        options = report_recipient_options(self.get_object())
        return Response(ReportRecipientSerializer(options, many=True).data)

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        """The report's PDF, drawn once and stored."""
        return report_file_response(self.get_object(), "pdf")

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def csv(self, request, pk=None):
        return report_file_response(self.get_object(), "csv")
