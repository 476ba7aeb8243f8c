"""Billing's workspace forms: the invoice list's filters, the invoice run, void and credit
notes, spend records (one at a time or a CSV file)."""

import csv
import io
from datetime import date
from decimal import Decimal

from django import forms

from contracts.choices import PricingModel, Service
from contracts.models import Contract
from msp.models import Client
from msp.periods import add_months
from reporting.billing.choices import DocumentKind, InvoiceStatus, LineKind
from reporting.billing.models import TaxRate
from reporting.billing.services import SPEND_CSV_COLUMNS
from tickets.choices import WorkType

CSV_MAX_BYTES = 1_000_000


def parse_month(value: str) -> date:
    try:
        return date.fromisoformat(f"{value.strip()}-01")
    except ValueError:
        raise forms.ValidationError("Give the month as YYYY-MM.") from None


class MonthField(forms.CharField):
    """A month as YYYY-MM (an <input type="month">), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def to_python(self, value):
        value = super().to_python(value)
        return parse_month(value) if value else None


class InvoiceFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *InvoiceStatus.choices], required=False)
    kind = forms.ChoiceField(choices=[("", "Invoices and credit notes"), *DocumentKind.choices],
                             required=False)  # fmt: skip
    client = forms.ModelChoiceField(
        queryset=Client.objects.none(), required=False, empty_label="Every client"
    )
    period = MonthField(required=False, label="Period including", help_text="YYYY-MM")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = Client.objects.for_user(user).order_by("name")

    def filter(self, invoices):
        data = self.cleaned_data
        if data.get("status"):
            invoices = invoices.filter(status=data["status"])
        if data.get("kind"):
            invoices = invoices.filter(kind=data["kind"])
        if data.get("client"):
            invoices = invoices.filter(client=data["client"])
        if data.get("period"):
            invoices = invoices.filter(
                period_start__lte=data["period"], period_end__gt=data["period"]
            )
        return invoices


def last_month(today: date) -> date:
    return add_months(today.replace(day=1), -1)


class InvoiceRunForm(forms.Form):
    month = MonthField(
        help_text="The month that ended: monthly contracts are billed for it, quarterly ones "
        "when it ends a quarter (March, June, September, December), annual ones in December."
    )
    clients = forms.ModelMultipleChoiceField(
        queryset=Client.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every client you bill.",
    )

    def __init__(self, *args, user, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clients"].queryset = Client.objects.for_user(user).order_by("name")
        self.today = today
        if not self.is_bound:
            self.initial.setdefault("month", f"{last_month(today):%Y-%m}")

    def clean_month(self):
        month = self.cleaned_data["month"]
        if month > last_month(self.today):
            raise forms.ValidationError("Only a month that has ended can be billed.")
        return month


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Shown on the credit note the client receives.",
    )


class CreditNoteForm(ReasonForm):
    """A credit note: an amount for some lines (what is left to credit on each is shown), or
    everything not credited yet."""

    everything = forms.BooleanField(
        required=False, label="Credit everything not credited yet (every line in full)"
    )

    def __init__(self, *args, lines, left, currency, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = []
        for line in lines:
            if line.kind == LineKind.TAX or left[line.pk] <= 0:
                continue
            name = f"line_{line.pk}"
            self.fields[name] = forms.DecimalField(
                required=False,
                min_value=Decimal("0.01"),
                max_value=left[line.pk],
                decimal_places=2,
                label=f"{line.description} (up to {left[line.pk]} {currency})",
            )
            self.lines.append((line, left[line.pk], name))

    def line_fields(self):
        return [(line, left, self[name]) for line, left, name in self.lines]

    def clean(self):
        data = super().clean()
        amounts = {
            line.pk: data[name] for line, _, name in self.lines if data.get(name) is not None
        }
        if data.get("everything"):
            data["amounts"] = None
        elif not amounts:
            raise forms.ValidationError(
                "Give an amount for at least one line, or credit everything."
            )
        else:
            data["amounts"] = amounts
        return data


def spend_contracts(user):
    """The contracts of the user's clients that bill a percentage of managed spend."""
    return (
        Contract.objects.for_user(user)
        .filter(service_lines__pricing_model=PricingModel.PERCENT_OF_SPEND)
        .select_related("client")
        .distinct()
        .order_by("client__name", "number")
    )


class SpendRecordForm(forms.Form):
    contract = forms.ModelChoiceField(queryset=Contract.objects.none())
    service = forms.ChoiceField(choices=[])
    month = MonthField()
    amount = forms.DecimalField(min_value=Decimal("0"), decimal_places=2, max_digits=14)
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contract"].queryset = spend_contracts(user)
        self.fields["contract"].label_from_instance = lambda c: (
            f"{c.client.name}: {c.number} {c.name}"
        )
        self.fields["service"].choices = Service.choices


class SpendImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with the header contract,service,month,amount: the contract's number, "
        "the service's code, YYYY-MM and the amount in the contract's currency."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > CSV_MAX_BYTES:
            raise forms.ValidationError("The file is larger than 1 MB.")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text.") from None
        # Rows missing a column are named here; the service checks each value.
        try:
            reader = csv.DictReader(io.StringIO(text))
            header = reader.fieldnames or []
            missing = [c for c in SPEND_CSV_COLUMNS if c not in header]
            if missing:
                raise forms.ValidationError(f"Missing columns: {', '.join(missing)}.")
            errors = []
            for number, row in enumerate(reader, start=2):
                empty = [c for c in SPEND_CSV_COLUMNS if not (row.get(c) or "").strip()]
                if empty:
                    errors.append(f"Row {number}: {', '.join(empty)} missing.")
        except csv.Error as error:
            raise forms.ValidationError(f"The file is not readable CSV: {error}.") from None
        if errors:
            raise forms.ValidationError(errors)
        return text


class HourlyRateForm(forms.Form):
    """A rate of the default card (no client) or a client's override; blank rate: remove."""

    client = forms.ModelChoiceField(
        queryset=Client.objects.none(), required=False, empty_label="Default rate card"
    )
    work_type = forms.ChoiceField(choices=WorkType.choices)
    currency = forms.RegexField(regex=r"^[A-Za-z]{3}$", max_length=3, initial="USD",
                                error_messages={"invalid": "Three letters, like USD."})  # fmt: skip
    rate = forms.DecimalField(
        min_value=Decimal("0"), max_digits=12, decimal_places=2, required=False,
        help_text="Blank: remove the rate.",
    )  # fmt: skip

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = Client.objects.for_user(user).order_by("name")


class TaxRateForm(forms.Form):
    name = forms.CharField(max_length=100)
    percent = forms.DecimalField(min_value=Decimal("0"), max_value=Decimal("100"),
                                 max_digits=7, decimal_places=4)  # fmt: skip


class ClientTaxesForm(forms.Form):
    client = forms.ModelChoiceField(queryset=Client.objects.none())
    tax_rates = forms.ModelMultipleChoiceField(
        queryset=TaxRate.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Taxes charged",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = Client.objects.for_user(user).order_by("name")
