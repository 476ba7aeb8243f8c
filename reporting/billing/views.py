"""Billing in the workspace (administrators and account managers: invoices, the invoice run,
spend records) and in the portal (a client's finalised invoices and credit notes). Every
invoice is found through Invoice.objects.for_user: another client's is a 404, and a client
user never reaches a draft."""

import contextlib
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.views import View

from msp.choices import UserRole
from msp.mixins import ClientUserRequiredMixin, RoleRequiredMixin
from msp.models import Client
from reporting.billing import documents, rates, services
from reporting.billing.choices import DocumentKind, InvoiceStatus, LineKind
from reporting.billing.forms import (
    ClientTaxesForm,
    CreditNoteForm,
    HourlyRateForm,
    InvoiceFilterForm,
    InvoiceRunForm,
    ReasonForm,
    SpendImportForm,
    SpendRecordForm,
    TaxRateForm,
    last_month,
    parse_month,
    spend_contracts,
)
from reporting.billing.models import (
    DocumentSequence,
    HourlyRate,
    Invoice,
    InvoiceRun,
    SpendRecord,
    TaxRate,
)

INVOICES_PER_PAGE = 50


class BillingRequiredMixin(RoleRequiredMixin):
    """Administrators and account managers (services.BILLING_ROLES); each invoice is also
    looked up in the person's client scope."""

    allowed_roles = services.BILLING_ROLES


def _visible_invoice(request, pk: int) -> Invoice:
    return get_object_or_404(
        Invoice.objects.for_user(request.user).select_related("client", "credited_invoice"),
        pk=pk,
    )


def _pdf_response(invoice: Invoice) -> HttpResponse:
    """The stored PDF (drawn first if it never was), private to whoever was let in."""
    try:
        if not invoice.pdf:
            raise FileNotFoundError
        response = FileResponse(invoice.pdf.open("rb"), content_type="application/pdf")
    except FileNotFoundError:
        response = HttpResponse(
            documents.invoice_pdf_ensure(invoice=invoice), content_type="application/pdf"
        )
    filename = documents.document_filename(invoice)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    patch_cache_control(response, private=True, no_store=True)
    return response


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


# Invoices ---------------------------------------------------------------------------------


class InvoiceListView(BillingRequiredMixin, View):
    """Invoices and credit notes, newest period first, filtered by status, kind, client and
    period: a fixed number of queries whatever the page's length."""

    def get(self, request):
        form = InvoiceFilterForm(request.GET or None, user=request.user)
        invoices = Invoice.objects.for_user(request.user).select_related(
            "client", "credited_invoice"
        )
        status = 200
        if form.is_bound:
            if form.is_valid():
                invoices = form.filter(invoices)
            else:
                status = 400
                invoices = invoices.none()
        page = Paginator(invoices.order_by("-period_start", "client__name", "-pk"),
                         INVOICES_PER_PAGE).get_page(request.GET.get("page"))  # fmt: skip
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "last_run": InvoiceRun.objects.order_by("-created_at").first(),
        }
        return render(request, "billing/invoice_list.html", context, status=status)


def _next_number_preview(kind: str) -> str:
    """The number the document would take if finalised now (assigned only then)."""
    year = timezone.localdate().year
    sequence = DocumentSequence.objects.filter(kind=kind, year=year).first()
    following = (sequence.last_number if sequence else 0) + 1
    return f"{services.NUMBER_PREFIX[kind]}-{year}-{following:04d}"


class InvoiceDetailView(BillingRequiredMixin, View):
    def get(self, request, pk: int):
        invoice = _visible_invoice(request, pk)
        return render(request, "billing/invoice_detail.html", _detail_context(invoice))


def _detail_context(invoice: Invoice) -> dict:
    return {
        "invoice": invoice,
        "title": documents.document_title(invoice),
        "content": documents.document_content(invoice),
        "deliveries": invoice.deliveries.select_related("sent_by").order_by("sent_at", "pk"),
        "credit_notes": invoice.credit_notes.order_by("pk"),
        "billing_contacts": list(documents.billing_contacts(invoice.client_id)),
        "can_credit": invoice.kind == DocumentKind.INVOICE
        and invoice.status == InvoiceStatus.FINALISED,
    }


# What each action is, says and does: (the statuses it applies to, the question, the button,
# the service, the message once done).
ACTIONS = {
    "review": (
        (InvoiceStatus.DRAFT,),
        "Mark this draft reviewed? Invoice runs no longer recompute it; reopen it to let them.",
        "Mark reviewed",
        lambda invoice, by: services.invoice_review(invoice=invoice, by=by),
        "Marked reviewed.",
    ),
    "reopen": (
        (InvoiceStatus.REVIEWED,),
        "Reopen this invoice as a draft? The next invoice run recomputes it.",
        "Reopen as draft",
        lambda invoice, by: services.invoice_reopen(invoice=invoice, by=by),
        "Reopened as a draft.",
    ),
    "finalise": (
        (InvoiceStatus.REVIEWED,),
        "Finalise this invoice? It is numbered now and can never change again (correct it "
        "with a credit note); its PDF is drawn and emailed to the client's billing contacts, "
        "and it appears in the client's portal.",
        "Finalise and send",
        lambda invoice, by: documents.invoice_finalise_and_send(invoice=invoice, by=by),
        "Finalised as {number}; emailed to the billing contacts.",
    ),
    "discard": (
        (InvoiceStatus.DRAFT, InvoiceStatus.REVIEWED),
        "Discard this invoice? What it billed (time, tickets, credits, spend) is billed by "
        "the next run instead.",
        "Discard",
        lambda invoice, by: services.invoice_discard(invoice=invoice, by=by),
        "Discarded.",
    ),
    "resend": (
        (InvoiceStatus.FINALISED, InvoiceStatus.VOID),
        "Email this document again (PDF attached) to each of the client's billing contacts?",
        "Send again",
        lambda invoice, by: documents.invoice_send(invoice=invoice, by=by, again=True),
        "Sent again.",
    ),
}


class InvoiceActionView(BillingRequiredMixin, View):
    """GET asks for confirmation; POST acts (the state is checked again by the service)."""

    action = ""

    def _page(self, request, invoice, error: str = "", status: int = 200):
        statuses, question, button, _, _ = ACTIONS[self.action]
        context = {
            "invoice": invoice,
            "title": documents.document_title(invoice),
            "action": self.action,
            "question": question,
            "button": button,
            "error": error,
            "allowed": invoice.status in statuses,
            "next_number": _next_number_preview(invoice.kind) if self.action == "finalise" else "",
            "billing_contacts": list(documents.billing_contacts(invoice.client_id)),
        }
        return render(request, "billing/invoice_confirm.html", context, status=status)

    def get(self, request, pk: int):
        return self._page(request, _visible_invoice(request, pk))

    def post(self, request, pk: int):
        invoice = _visible_invoice(request, pk)
        _, _, _, act, done = ACTIONS[self.action]
        try:
            result = act(invoice, request.user)
        except ValidationError as error:
            return self._page(request, invoice, _error_text(error), status=400)
        if self.action == "discard":
            messages.success(request, done)
            return redirect("workspace:billing-invoice-list")
        number = getattr(result, "number", "") or ""
        if self.action == "resend" and not result:
            messages.warning(request, "The client has no billing contact with an address.")
        else:
            messages.success(request, done.format(number=number))
        return redirect("workspace:billing-invoice-detail", invoice.pk)


class InvoiceVoidView(BillingRequiredMixin, View):
    def _page(self, request, invoice, form, status=200):
        context = {"invoice": invoice, "title": documents.document_title(invoice), "form": form}
        return render(request, "billing/invoice_void.html", context, status=status)

    def get(self, request, pk: int):
        return self._page(request, _visible_invoice(request, pk), ReasonForm())

    def post(self, request, pk: int):
        invoice = _visible_invoice(request, pk)
        form = ReasonForm(request.POST)
        if form.is_valid():
            try:
                note = documents.invoice_void_and_send(
                    invoice=invoice, by=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                form.add_error(None, _error_text(error))
            else:
                messages.success(request, f"{invoice.number} is void; credit note {note.number}.")
                return redirect("workspace:billing-invoice-detail", invoice.pk)
        return self._page(request, invoice, form, status=400)


class CreditNoteCreateView(BillingRequiredMixin, View):
    """Choose lines and amounts (at most what is left on each) and say why."""

    def _form(self, invoice, data=None):
        lines = list(
            invoice.lines.exclude(kind=LineKind.TAX)
            .prefetch_related("credits")
            .order_by("position")
        )
        left = {line.pk: line.amount + sum((c.amount for c in line.credits.all()), Decimal(0))
                for line in lines}  # fmt: skip
        return CreditNoteForm(data, lines=lines, left=left, currency=invoice.currency)

    def _page(self, request, invoice, form, status=200):
        context = {"invoice": invoice, "title": documents.document_title(invoice), "form": form}
        return render(request, "billing/credit_note_form.html", context, status=status)

    def get(self, request, pk: int):
        invoice = _visible_invoice(request, pk)
        return self._page(request, invoice, self._form(invoice))

    def post(self, request, pk: int):
        invoice = _visible_invoice(request, pk)
        form = self._form(invoice, request.POST)
        if form.is_valid():
            try:
                note = documents.credit_note_create_and_send(
                    invoice=invoice,
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                    amounts=form.cleaned_data["amounts"],
                )
            except ValidationError as error:
                form.add_error(None, _error_text(error))
            else:
                messages.success(request, f"Credit note {note.number} issued and emailed.")
                return redirect("workspace:billing-invoice-detail", note.pk)
        return self._page(request, invoice, form, status=400)


class StaffInvoicePdfView(BillingRequiredMixin, View):
    def get(self, request, pk: int):
        invoice = _visible_invoice(request, pk)
        if not invoice.is_final:
            return HttpResponse("A draft has no PDF yet.", status=404)
        return _pdf_response(invoice)


# The invoice run --------------------------------------------------------------------------


class InvoiceRunView(BillingRequiredMixin, View):
    def _page(self, request, form, status=200):
        runs = InvoiceRun.objects.select_related("started_by").order_by("-created_at")[:10]
        return render(
            request, "billing/invoice_run.html", {"form": form, "runs": runs}, status=status
        )

    def get(self, request):
        return self._page(request, InvoiceRunForm(user=request.user, today=timezone.localdate()))

    def post(self, request):
        form = InvoiceRunForm(request.POST, user=request.user, today=timezone.localdate())
        if not form.is_valid():
            return self._page(request, form, status=400)
        clients = form.cleaned_data["clients"]
        # Queued for a worker: a run over hundreds of clients outlasts a web request.
        run = services.invoice_run_request(
            month=form.cleaned_data["month"],
            by=request.user,
            client_ids=[c.pk for c in clients] if clients else None,
        )
        return redirect("workspace:billing-run-detail", run.pk)


class InvoiceRunDetailView(BillingRequiredMixin, View):
    """What a run made, updated and left alone, and the clients it could not bill (why); while
    it is queued or running, the page reloads itself every few seconds."""

    def get(self, request, pk: int):
        run = get_object_or_404(InvoiceRun.objects.select_related("started_by"), pk=pk)
        visible = Client.objects.for_user(request.user)
        invoices = (
            Invoice.objects.for_user(request.user)
            .filter(run=run)
            .select_related("client")
            .order_by("client__name", "pk")
        )
        error_clients = {
            c.pk: c for c in visible.filter(pk__in=[e.get("client") for e in run.errors])
        }
        errors = [
            {"client": error_clients[e["client"]], "error": e["error"]}
            for e in run.errors
            if e.get("client") in error_clients
        ]
        context = {
            "run": run,
            "invoices": invoices,
            "errors": errors,
            "periods": _periods_closed(run.month),
        }
        return render(request, "billing/invoice_run_detail.html", context)


def _periods_closed(month) -> list[str]:
    from reporting.billing.pricing import billing_period_ending

    closed = []
    for cycle, label in (
        ("monthly", "Monthly"),
        ("quarterly", "Quarterly"),
        ("annually", "Annual"),
    ):
        period = billing_period_ending(cycle, month)
        if period is not None:
            closed.append(f"{label} contracts: {period.first_day:%-d %b %Y} to the end of "
                          f"{month:%B %Y}")  # fmt: skip
    return closed


# Spend records ----------------------------------------------------------------------------


class SpendRecordsView(BillingRequiredMixin, View):
    """A month's managed spend per contract: entered one at a time, or imported from CSV
    (all rows or none, each bad row named)."""

    def _page(self, request, form=None, import_form=None, status=200, import_errors=()):
        month = last_month(timezone.localdate())
        if request.GET.get("month"):
            with contextlib.suppress(forms.ValidationError):  # else the default month
                month = parse_month(request.GET["month"])
        contracts = list(spend_contracts(request.user))
        records = (
            SpendRecord.objects.for_user(request.user)
            .filter(month=month)
            .select_related("contract", "client")
            .annotate(billed=Exists(_billed_spend()))
            .order_by("client__name", "contract__number", "service")
        )
        context = {
            "month": month,
            "contracts": contracts,
            "records": records,
            "form": form or SpendRecordForm(user=request.user, initial={"month": f"{month:%Y-%m}"}),
            "import_form": import_form or SpendImportForm(),
            "import_errors": import_errors,
        }
        return render(request, "billing/spend_records.html", context, status=status)

    def get(self, request):
        return self._page(request)

    def post(self, request):
        form = SpendRecordForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.spend_record_set(
                    contract=data["contract"],
                    service=data["service"],
                    month=data["month"],
                    amount=data["amount"],
                    note=data["note"],
                    by=request.user,
                )
            except ValidationError as error:
                for name, errors in error.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, "Spend recorded.")
                return redirect(f"{request.path}?month={data['month']:%Y-%m}")
        return self._page(request, form=form, status=400)


def _billed_spend():
    from reporting.billing.models import InvoicedItem

    return InvoicedItem.objects.filter(spend_record=OuterRef("pk"), released_at__isnull=True)


class SpendImportView(SpendRecordsView):
    """POST a CSV; GET shows the spend page (where the import form is)."""

    def post(self, request):
        form = SpendImportForm(request.POST, request.FILES)
        errors = []
        if form.is_valid():
            try:
                records = services.spend_records_import_csv(
                    text=form.cleaned_data["file"], by=request.user
                )
            except ValidationError as error:
                errors = error.message_dict.get("file", error.messages)
            except PermissionDenied:
                errors = ["A contract in the file is not one of your clients'. Nothing imported."]
            else:
                messages.success(request, f"{len(records)} spend records imported.")
                return redirect("workspace:billing-spend")
        else:
            errors = form.errors.get("file", []) + form.non_field_errors()
        return self._page(request, import_form=form, status=400, import_errors=errors)


# Rates and taxes --------------------------------------------------------------------------


class RatesView(BillingRequiredMixin, View):
    """The default rate card and the tax rates (administrators change them), and a client's
    hourly overrides and taxes (?client=<id>, one of the viewer's clients)."""

    FORMS = {
        "rate": HourlyRateForm,
        "tax": TaxRateForm,
        "client_taxes": ClientTaxesForm,
    }

    def _client(self, request):
        wanted = request.GET.get("client") or request.POST.get("client") or ""
        if not wanted.isdigit():
            return None
        return Client.objects.for_user(request.user).filter(pk=int(wanted)).first()

    def _page(self, request, bound=None, status=200):
        client = self._client(request)
        forms_shown = {
            "rate": HourlyRateForm(user=request.user, initial={"client": client}),
            "tax": TaxRateForm(),
            "client_taxes": ClientTaxesForm(
                user=request.user,
                initial={
                    "client": client,
                    "tax_rates": list(client.tax_rates.values_list("tax_rate_id", flat=True))
                    if client
                    else [],
                },
            ),
        }
        if bound is not None:
            forms_shown[bound[0]] = bound[1]
        rates = HourlyRate.objects.filter(Q(client__isnull=True) | Q(client=client))
        context = {
            "client": client,
            "clients": Client.objects.for_user(request.user).order_by("name"),
            "default_rates": [r for r in rates if r.client_id is None],
            "client_rates": [r for r in rates if r.client_id is not None],
            "tax_rates": TaxRate.objects.order_by("name"),
            "client_taxes": list(client.tax_rates.select_related("tax_rate")) if client else [],
            "is_admin": request.user.role == UserRole.ADMIN,
            **{f"{name}_form": form for name, form in forms_shown.items()},
        }
        return render(request, "billing/rates.html", context, status=status)

    def get(self, request):
        return self._page(request)

    def post(self, request):
        kind = request.POST.get("form", "")
        if kind not in self.FORMS:
            return self._page(request, status=400)
        if kind == "tax":
            form = TaxRateForm(request.POST)
        else:
            form = self.FORMS[kind](request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if kind == "rate":
                    rates.hourly_rate_set(by=request.user, **data)
                elif kind == "tax":
                    rates.tax_rate_create(by=request.user, **data)
                else:
                    rates.client_tax_rates_set(by=request.user, **data)
            except ValidationError as error:
                form.add_error(None, _error_text(error))
            else:
                messages.success(request, "Saved.")
                client = data.get("client")
                return redirect(f"{request.path}?client={client.pk}" if client else request.path)
        return self._page(request, bound=(kind, form), status=400)


# The portal -------------------------------------------------------------------------------


class PortalInvoiceListView(ClientUserRequiredMixin, View):
    def get(self, request):
        invoices = (
            Invoice.objects.for_user(request.user)
            .select_related("client", "credited_invoice")
            .order_by("-issued_on", "-pk")
        )
        page = Paginator(invoices, INVOICES_PER_PAGE).get_page(request.GET.get("page"))
        return render(request, "billing/portal/invoice_list.html", {"page": page})


class PortalInvoiceDetailView(ClientUserRequiredMixin, View):
    def get(self, request, pk: int):
        invoice = _visible_invoice(request, pk)
        context = {
            "invoice": invoice,
            "title": documents.document_title(invoice),
            "content": documents.document_content(invoice),
            "credit_notes": invoice.credit_notes.for_user(request.user).order_by("pk"),
        }
        return render(request, "billing/portal/invoice_detail.html", context)


class PortalInvoicePdfView(ClientUserRequiredMixin, View):
    def get(self, request, pk: int):
        return _pdf_response(_visible_invoice(request, pk))
