"""Billing over the API, through the same services as the billing pages.

Who: administrators and account managers (for the clients they see) read and act; other staff
are refused; client users (and their tokens) read their own client's finalised invoices and
credit notes only (a draft, or another client's document, is a 404). Invoices and credit
notes are read-only resources whose changes are actions: run, review, finalise, void,
credit-note. Spend records are created and corrected here ("sent over the API") or imported
from CSV. Accounting exports answer with the CSV and are recorded (exports.py)."""

from datetime import date

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from contracts.models import Contract
from msp.api.base import ScopedViewSet, valid_data
from msp.api.fields import IdField
from msp.api.filters import BooleanFilter, FilterSet, IdFilter
from msp.models import Client
from reporting.billing import documents, exports, selectors, services
from reporting.billing.choices import SpendSource
from reporting.billing.models import (
    AccountingExport,
    HourlyRate,
    Invoice,
    InvoiceLine,
    InvoiceRun,
    SpendRecord,
    TaxRate,
)
from reporting.billing.services import BILLING_ROLES

MONTH_HELP = "A month as YYYY-MM."


class BillingAccess:
    """Staff other than administrators and account managers are refused, reading included;
    client users only where the view allows them (invoices)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        user = request.user
        if user.is_msp_staff and user.role not in BILLING_ROLES:
            raise exceptions.PermissionDenied("Billing is for administrators and account managers.")


MONTH_SCHEMA = {"type": "string", "pattern": r"^[1-9]\d{3}-(0[1-9]|1[0-2])$", "example": "2026-10"}


class MonthFormField(forms.Field):
    """Not a CharField: an empty value is refused like a date's (msp.api.filters)."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            return date.fromisoformat(f"{value}-01")
        except (TypeError, ValueError):
            raise forms.ValidationError(MONTH_HELP, code="invalid") from None


@extend_schema_field(MONTH_SCHEMA)
class MonthFilter(filters.Filter):
    field_class = MonthFormField


@extend_schema_field(MONTH_SCHEMA)
class MonthField(serializers.Field):
    """A month, YYYY-MM, as the first day of it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", MONTH_HELP)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(MONTH_HELP)
        try:
            return date.fromisoformat(f"{data}-01")
        except ValueError:
            raise serializers.ValidationError(MONTH_HELP) from None

    def to_representation(self, value):
        return f"{value:%Y-%m}"


# Invoices and credit notes -------------------------------------------------------------------


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = [
            "id",
            "position",
            "kind",
            "description",
            "contract",
            "service_start",
            "service_end",
            "work_type",
            "quantity",
            "unit",
            "unit_price",
            "amount",
            "tax_amount",
            "taxes",
            "credited_line",
            "detail",
        ]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)
    exported = serializers.BooleanField(
        read_only=True, help_text="In an accounting export already."
    )

    class Meta:
        model = Invoice
        fields = [
            "id",
            "kind",
            "number",
            "client",
            "currency",
            "billing_cycle",
            "period_start",
            "period_end",
            "status",
            "credited_invoice",
            "reason",
            "issued_on",
            "due_on",
            "subtotal",
            "tax_total",
            "total",
            "reviewed_at",
            "finalised_at",
            "voided_at",
            "exported",
            "lines",
        ]
        read_only_fields = fields


class InvoiceFilterSet(FilterSet):
    client = IdFilter(field_name="client_id")
    period = MonthFilter(
        method="filter_period", help_text="Invoices whose billing period covers this month."
    )
    exported = BooleanFilter(method="filter_exported", help_text="In an accounting export.")

    class Meta:
        model = Invoice
        fields = ["client", "status", "kind", "currency", "period_start"]

    def filter_period(self, queryset, name, value):
        return queryset.filter(period_start__lte=value, period_end__gt=value)

    def filter_exported(self, queryset, name, value):
        return queryset.filter(exported=value)


class RunSerializer(serializers.Serializer):
    month = MonthField(help_text="The month that ended, YYYY-MM: its periods are billed.")
    clients = IdField(
        many=True,
        queryset=Client.objects.none(),
        required=False,
        allow_empty=False,
        help_text="Only these clients (left out: every client you handle).",
    )

    def get_fields(self):
        fields = super().get_fields()
        user = self.context["request"].user
        fields["clients"].child_relation.queryset = Client.objects.for_user(user)
        return fields

    def validate_month(self, value):
        if value >= timezone.localdate().replace(day=1):
            raise serializers.ValidationError("Bill a month that has ended.")
        return value


class InvoiceRunSerializer(serializers.ModelSerializer):
    state = serializers.CharField(help_text="queued, running or finished.")
    errors = serializers.SerializerMethodField(help_text="Clients not billed, and why.")

    class Meta:
        model = InvoiceRun
        fields = [
            "id", "month", "state", "client_ids", "created_at", "started_at", "finished_at",
            "created", "updated", "unchanged", "errors",
        ]  # fmt: skip
        read_only_fields = fields

    def get_errors(self, run) -> list[dict]:
        visible = self.context["visible_client_ids"]
        return [error for error in run.errors if error.get("client") in visible]


class VoidReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why (shown on the credit note).")


class CreditNoteSerializer(VoidReasonSerializer):
    amounts = serializers.DictField(
        child=serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0),
        required=False,
        allow_empty=False,
        help_text='Credit part of some lines: {"<line id>": "<amount>"}. Left out: '
        "everything not credited yet.",
    )

    def validate_amounts(self, value):
        try:
            return {int(key): amount for key, amount in value.items()}
        except ValueError:
            raise serializers.ValidationError("Keys are the invoice's line ids.") from None


class InvoiceViewSet(
    BillingAccess, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet
):
    """Invoices and credit notes with their lines. Client users see their client's finalised
    (and void) documents; administrators and account managers every state."""

    queryset = Invoice.objects.all()
    serializer_class = InvoiceSerializer
    client_users_allowed = True
    write_roles = BILLING_ROLES
    filterset_class = InvoiceFilterSet
    ordering_fields = ["period_start", "issued_on", "number", "total", "client", "id"]
    ordering = ["-period_start", "client", "id"]

    def get_queryset(self):
        invoices = Invoice.objects.for_user(self.request.user).annotate(
            exported=exports.exported_filter()
        )
        return selectors.invoices_with_lines(queryset=invoices).order_by(*self.ordering)

    def _staff_only(self):
        if not self.request.user.is_msp_staff:
            raise exceptions.PermissionDenied("Billing is for administrators and account managers.")

    def _answer(self, invoice, code=status.HTTP_200_OK):
        return Response(
            self.get_serializer(self.get_queryset().get(pk=invoice.pk)).data, status=code
        )

    def _run_answer(self, run, code=status.HTTP_200_OK):
        visible = set(Client.objects.for_user(self.request.user).values_list("pk", flat=True))
        data = InvoiceRunSerializer(run, context={"visible_client_ids": visible}).data
        return Response(data, status=code)

    @extend_schema(
        request=RunSerializer,
        responses={202: InvoiceRunSerializer},
        examples=[OpenApiExample("October", value={"month": "2026-10"}, request_only=True)],
    )
    @action(detail=False, methods=["post"])
    def run(self, request):
        """Bill the month that ended: a draft invoice per client, currency and period ending
        with it; drafts are recomputed, reviewed and finalised ones left alone. The run is
        queued for a worker (202): read `runs/{id}/` until its state is `finished`."""
        self._staff_only()
        data = valid_data(RunSerializer, request)
        clients = data.get("clients")
        run = services.invoice_run_request(
            month=data["month"],
            by=request.user,
            client_ids=[c.pk for c in clients] if clients else None,
        )
        return self._run_answer(run, status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=InvoiceRunSerializer)
    @action(detail=False, methods=["get"], url_path=r"runs/(?P<run_id>[0-9]+)")
    def run_detail(self, request, run_id=None):
        """An invoice run: queued, running or finished, what it made and what it could not
        bill (for the clients you see)."""
        self._staff_only()
        return self._run_answer(get_object_or_404(InvoiceRun, pk=run_id))

    @extend_schema(request=None, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """A person checked the draft: runs no longer recompute it."""
        self._staff_only()
        invoice = services.invoice_review(invoice=self.get_object(), by=request.user)
        return self._answer(invoice)

    @extend_schema(request=None, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """Back from reviewed to draft."""
        self._staff_only()
        invoice = services.invoice_reopen(invoice=self.get_object(), by=request.user)
        return self._answer(invoice)

    @extend_schema(request=None, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def finalise(self, request, pk=None):
        """Number the reviewed invoice (gapless per year) and freeze it."""
        self._staff_only()
        invoice = documents.invoice_finalise_and_send(invoice=self.get_object(), by=request.user)
        return self._answer(invoice)

    @extend_schema(
        request=VoidReasonSerializer,
        responses={201: InvoiceSerializer},
        examples=[OpenApiExample("Wrong client", value={"reason": "Billed to the wrong client"})],
    )
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        """Cancel a finalised invoice with a full credit note (returned); what it billed is
        released for the next run."""
        self._staff_only()
        invoice = self.get_object()
        data = valid_data(VoidReasonSerializer, request)
        note = documents.invoice_void_and_send(
            invoice=invoice, by=request.user, reason=data["reason"]
        )
        return self._answer(note, status.HTTP_201_CREATED)

    @extend_schema(
        request=CreditNoteSerializer,
        responses={201: InvoiceSerializer},
        examples=[
            OpenApiExample(
                "Part of a line",
                value={"reason": "Two laptops retired on the 3rd", "amounts": {"812": "45.00"}},
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"], url_path="credit-note")
    def credit_note(self, request, pk=None):
        """A numbered credit note correcting a finalised invoice (all of it, or amounts of
        some lines)."""
        self._staff_only()
        invoice = self.get_object()
        data = valid_data(CreditNoteSerializer, request)
        note = documents.credit_note_create_and_send(
            invoice=invoice, by=request.user, reason=data["reason"], amounts=data.get("amounts")
        )
        return self._answer(note, status.HTTP_201_CREATED)


# Accounting exports --------------------------------------------------------------------------


class AccountingExportSerializer(serializers.ModelSerializer):
    documents = serializers.SerializerMethodField(help_text="Ids of the documents exported.")

    class Meta:
        model = AccountingExport
        fields = ["id", "format", "created_by", "created_at", "again", "row_count", "documents"]
        read_only_fields = fields

    def get_documents(self, export) -> list[int]:
        return [document.invoice_id for document in export.documents.all()]


class ExportRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=list(exports.FORMATS.items()))
    invoices = IdField(
        many=True,
        queryset=Invoice.objects.none(),
        required=False,
        allow_empty=False,
        help_text="These invoices and credit notes; left out: every finalised one not exported.",
    )
    clients = IdField(many=True, queryset=Client.objects.none(), required=False, allow_empty=False)
    issued_from = serializers.DateField(required=False)
    issued_until = serializers.DateField(required=False, help_text="Exclusive.")
    again = serializers.BooleanField(
        required=False, default=False, help_text="Export named documents already exported."
    )

    def get_fields(self):
        fields = super().get_fields()
        user = self.context["request"].user
        fields["invoices"].child_relation.queryset = Invoice.objects.for_user(user)
        fields["clients"].child_relation.queryset = Client.objects.for_user(user)
        return fields


class AccountingExportViewSet(
    BillingAccess, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet
):
    """Accounting exports (QuickBooks Online, Xero): each names its documents, which are then
    exported; creating one answers with the CSV."""

    queryset = AccountingExport.objects.all()
    serializer_class = AccountingExportSerializer
    write_roles = BILLING_ROLES
    # Not "format": the query parameter ?format= chooses the renderer (DRF), so a filter
    # named so answered 404.
    filterset_fields = ["again"]

    def get_queryset(self):
        exports_ = AccountingExport.objects.prefetch_related("documents").order_by("-pk")
        user = self.request.user
        # An account manager sees the exports of clients they see only.
        hidden = Invoice.objects.exclude(client__in=Client.objects.for_user(user))
        return exports_.exclude(Q(documents__invoice__in=hidden)).distinct()

    @extend_schema(
        request=ExportRequestSerializer,
        responses={(201, "text/csv"): OpenApiTypes.STR},
        examples=[OpenApiExample("Xero", value={"format": "xero"}, request_only=True)],
    )
    def create(self, request):
        """Export the documents as CSV (recorded; the documents are then exported). The
        export's id is in the Location header."""
        data = valid_data(ExportRequestSerializer, request)
        export = exports.accounting_export_create(
            format=data["format"],
            by=request.user,
            invoice_ids=[i.pk for i in data["invoices"]] if data.get("invoices") else None,
            client_ids=[c.pk for c in data["clients"]] if data.get("clients") else None,
            issued_from=data.get("issued_from"),
            issued_until=data.get("issued_until"),
            again=data["again"],
        )
        return self._csv(export, status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def csv(self, request, pk=None):
        """The export's CSV as it was handed over (downloading it again exports nothing)."""
        return self._csv(self.get_object(), status.HTTP_200_OK)

    def _csv(self, export, code):
        response = HttpResponse(export.content, content_type="text/csv; charset=utf-8", status=code)
        response["Content-Disposition"] = (
            f'attachment; filename="{exports.export_filename(export)}"'
        )
        response["Location"] = f"/api/v1/accounting-exports/{export.pk}/"
        return response


# Spend records, rates and taxes --------------------------------------------------------------


class SpendRecordSerializer(serializers.ModelSerializer):
    contract = IdField(queryset=Contract.objects.none())
    month = MonthField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)

    class Meta:
        model = SpendRecord
        fields = ["id", "client", "contract", "service", "month", "amount", "source", "note"]
        read_only_fields = ["id", "client", "source"]
        validators = []  # a month recorded again is a correction (the service decides)
        extra_kwargs = {"note": {"required": False}}

    def get_fields(self):
        fields = super().get_fields()
        fields["contract"].queryset = Contract.objects.for_user(self.context["request"].user)
        return fields


class SpendImportSerializer(serializers.Serializer):
    csv = serializers.CharField(
        max_length=1_000_000,
        help_text="CSV text with the header contract,service,month,amount (contract number, "
        "service code, YYYY-MM, amount).",
    )


SPEND_EXAMPLE = OpenApiExample(
    "Azure, October",
    value={"contract": 7, "service": "cloud", "month": "2026-10", "amount": "18250.40"},
    request_only=True,
)


@extend_schema_view(
    create=extend_schema(examples=[SPEND_EXAMPLE]),
    partial_update=extend_schema(
        examples=[
            OpenApiExample(
                "Corrected",
                value={"amount": "18310.00", "note": "Invoice corrected"},
                request_only=True,
            )
        ]
    ),
)
class SpendRecordViewSet(
    BillingAccess,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    """A month's managed spend on a contract's service, which percentage-of-spend lines bill
    a share of. Creating one for a month already recorded corrects it; a month invoiced
    cannot change (409)."""

    queryset = SpendRecord.objects.order_by("-month", "contract", "service", "id")
    serializer_class = SpendRecordSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    write_roles = BILLING_ROLES
    filterset_fields = ["client", "contract", "service", "source"]

    def perform_create(self, serializer):
        serializer.instance = self._set(serializer.validated_data)

    def perform_update(self, serializer):
        record = serializer.instance
        data = {
            "contract": record.contract,
            "service": record.service,
            "month": record.month,
            "amount": record.amount,
            "note": record.note,
            **serializer.validated_data,
        }
        if (data["contract"], data["service"], data["month"]) != (
            record.contract,
            record.service,
            record.month,
        ):
            raise serializers.ValidationError(
                {"month": "Change the amount or note; record another month as a new record."}
            )
        serializer.instance = self._set(data)

    def _set(self, data):
        return services.spend_record_set(
            contract=data["contract"],
            service=data["service"],
            month=data["month"],
            amount=data["amount"],
            note=data.get("note", ""),
            source=SpendSource.API,
            by=self.request.user,
        )

    @extend_schema(
        request=SpendImportSerializer,
        responses={201: SpendRecordSerializer(many=True)},
        examples=[
            OpenApiExample(
                "Two months",
                value={
                    "csv": "contract,service,month,amount\nC-2026-007,cloud,2026-09,17980.00\n"
                    "C-2026-007,cloud,2026-10,18250.40\n"
                },
                request_only=True,
            )
        ],
    )
    @action(detail=False, methods=["post"], url_path="import")
    def import_csv(self, request):
        """Import spend records from CSV: every row or none (the errors name the row)."""
        data = valid_data(SpendImportSerializer, request)
        try:
            records = services.spend_records_import_csv(text=data["csv"], by=request.user)
        except PermissionDenied as error:
            raise exceptions.PermissionDenied(str(error)) from None
        return Response(
            SpendRecordSerializer(records, many=True, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class TaxRateSerializer(serializers.ModelSerializer):
    class Meta:
        model = TaxRate
        fields = ["id", "name", "percent", "is_active"]
        read_only_fields = fields


class TaxRateViewSet(
    BillingAccess, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet
):
    """Taxes (each client's are on its invoices' lines)."""

    queryset = TaxRate.objects.order_by("name", "id")
    serializer_class = TaxRateSerializer
    filterset_fields = ["is_active"]

    def get_queryset(self):
        return self.queryset.all()


class HourlyRateSerializer(serializers.ModelSerializer):
    class Meta:
        model = HourlyRate
        fields = ["id", "client", "work_type", "currency", "rate"]
        read_only_fields = fields


class HourlyRateViewSet(
    BillingAccess, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet
):
    """The rate card: default hourly rates per work type and currency (client null) and the
    clients' overrides (of the clients you see). A contract's own rates come first."""

    queryset = HourlyRate.objects.order_by("client", "currency", "work_type", "id")
    serializer_class = HourlyRateSerializer
    filterset_fields = ["client", "work_type", "currency"]

    def get_queryset(self):
        mine = Client.objects.for_user(self.request.user)
        return self.queryset.filter(Q(client__isnull=True) | Q(client__in=mine))


BILLING_ROUTES = [
    ("invoices", InvoiceViewSet),
    ("accounting-exports", AccountingExportViewSet),
    ("spend-records", SpendRecordViewSet),
    ("tax-rates", TaxRateViewSet),
    ("hourly-rates", HourlyRateViewSet),
]
