"""Reports over the API, read-only: staff see every version, a client user the reports sent to
their own organisation (another client's is a 404). The PDF and the CSV are actions of a
report."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action

from msp.api.base import ScopedViewSet
from reporting.models import Report
from reporting.rendering import report_csv, report_filename, report_pdf


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


class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    queryset = Report.objects.order_by("id")
    serializer_class = ReportSerializer
    client_users_allowed = True
    filterset_fields = ["client", "kind", "period_start"]

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
