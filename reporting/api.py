"""Reports over the API: staff see every version, a client user the reports sent to their own
organisation (another client's is a 404). Account managers and administrators generate a new
version of a period's report, annotate it and send it, through the same services as the report
pages. The PDF and the CSV are actions of a report."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from msp.api.base import ScopedViewSet, valid_data
from msp.api.fields import IdField
from msp.choices import SERVICE_MANAGER_ROLES, PeriodKind
from msp.models import Client
from msp.periods import Period
from reporting.models import Report
from reporting.rendering import report_csv, report_filename, report_pdf
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


class ReportSentSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="Emails queued (0: every recipient had it).")


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

    @extend_schema(request=None, responses=ReportSentSerializer)
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """Email the report (PDF attached) to the client's report recipients, once per
        recipient and version; it then shows in the client's portal."""
        return Response({"queued": report_send(report=self.get_object())})

    def _file(self, content, content_type: str, extension: str) -> HttpResponse:
        report = self.get_object()
        response = HttpResponse(content(report), content_type=content_type)
        filename = report_filename(report, extension)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        return self._file(report_pdf, "application/pdf", "pdf")

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def csv(self, request, pk=None):
        return self._file(report_csv, "text/csv; charset=utf-8", "csv")
