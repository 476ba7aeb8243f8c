"""Account managers' contract forms. Validation lives in the models' clean(); these forms add
only the widgets and the parsing of text inputs (hourly rates, ticket numbers)."""

from decimal import Decimal, InvalidOperation

from django import forms

from contracts.models import (
    CONTRACT_TERMS,
    ComplianceTarget,
    Contract,
    MaintenanceWindow,
    Outage,
    ServiceLine,
)
from msp.choices import AssetKind
from msp.models import Asset, Client

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ContractForm(forms.ModelForm):
    class Meta:
        model = Contract
        fields = CONTRACT_TERMS
        widgets = {"start_date": DATE, "end_date": DATE}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # A contract stays with its client: its tickets and evaluations belong to it.
            del self.fields["client"]
        else:
            self.fields["client"].queryset = Client.objects.for_user(user).order_by("name")


class ServiceLineForm(forms.ModelForm):
    asset_kinds = forms.MultipleChoiceField(
        choices=AssetKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Per device: the kinds of asset counted (none ticked: all).",
    )
    hourly_rates = forms.CharField(
        required=False,
        help_text="Hourly: price per hour by work type, e.g. remote=95.00, onsite=140.00.",
    )

    class Meta:
        model = ServiceLine
        fields = [
            "service",
            "pricing_model",
            "unit_price",
            "asset_kinds",
            "block_hours",
            "overage_rate",
            "hourly_rates",
            "spend_percent",
            "managed_spend",
            "availability_target",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rates = self.instance.hourly_rates or {}
        self.initial["hourly_rates"] = ", ".join(f"{key}={value}" for key, value in rates.items())

    def clean_hourly_rates(self) -> dict[str, str]:
        text = self.cleaned_data["hourly_rates"].strip()
        rates = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            work_type, _, rate = item.partition("=")
            try:
                amount = Decimal(rate.strip())
            except InvalidOperation:
                raise forms.ValidationError(f"“{item}” is not work_type=price.") from None
            if not work_type.strip() or not amount.is_finite():
                raise forms.ValidationError(f"“{item}” is not work_type=price.")
            rates[work_type.strip()] = str(amount)
        return rates


class ComplianceTargetForm(forms.ModelForm):
    class Meta:
        model = ComplianceTarget
        fields = ["priority", "metric", "percent"]


class MaintenanceWindowForm(forms.ModelForm):
    class Meta:
        model = MaintenanceWindow
        fields = ["name", "asset", "start", "duration_minutes", "recurrence", "pauses_sla"]
        widgets = {"start": DATETIME}

    def __init__(self, *args, client_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["asset"].queryset = Asset.objects.filter(client_id=client_id).order_by(
            "hostname"
        )


class OutageForm(forms.ModelForm):
    ticket_number = forms.CharField(
        required=False, max_length=20, help_text="The ticket that tracked it, e.g. #123."
    )

    class Meta:
        model = Outage
        fields = ["service", "start", "end", "planned", "description"]
        widgets = {"start": DATETIME, "end": DATETIME}

    def __init__(self, *args, client_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.client_id = client_id
        if self.instance.ticket_id:
            self.initial["ticket_number"] = self.instance.ticket.number

    def clean_ticket_number(self) -> str:
        number = self.cleaned_data["ticket_number"].strip().removeprefix("#")
        self.instance.ticket = None
        if number:
            # The ticket model through the outage's own foreign key, as a ModelChoiceField or
            # the API's serializer finds it: contracts does not import tickets, the layer above.
            tickets = Outage.ticket.field.related_model.objects
            ticket = (
                tickets.filter(client_id=self.client_id, pk=int(number)).first()
                if number.isdigit() and len(number) < 16
                else None
            )
            if ticket is None:
                raise forms.ValidationError("No ticket of this client has that number.")
            self.instance.ticket = ticket
        return number


class EvaluateMonthForm(forms.Form):
    month = forms.DateField(
        widget=forms.DateInput(attrs={"type": "month"}), input_formats=["%Y-%m"]
    )


class RemediationPlanForm(forms.Form):
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="What went wrong")
    actions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="What will be done, by whom, by when."
    )
    due_date = forms.DateField(widget=DATE)


class ExemptionRevokeForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
