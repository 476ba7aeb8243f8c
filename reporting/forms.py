from django import forms
from django.utils import timezone

from msp.choices import PeriodKind
from msp.models import Client, Contact
from msp.periods import Period, earliest_local_date
from reporting.models import Report
from reporting.selectors import report_recipient_choices

PERIODS_OFFERED = {PeriodKind.MONTH: 12, PeriodKind.QUARTER: 8}


def period_choices(today) -> list[tuple[str, str]]:
    """Recent finished months and quarters, newest first, as of `today` (the service checks
    again that the period has ended in the chosen client's zone)."""
    choices = []
    for kind, count in PERIODS_OFFERED.items():
        last = Period.last_finished(kind, today)
        name = "monthly report" if kind == PeriodKind.MONTH else "QBR"
        for back in range(count):
            period = last.shifted(-back)
            choices.append((f"{kind}:{period.first_day.isoformat()}", f"{period.label} ({name})"))
    return choices


class ReportGenerateForm(forms.Form):
    client = forms.ModelChoiceField(queryset=Client.objects.none())
    period = forms.ChoiceField()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        clients = Client.objects.for_user(user)
        self.fields["client"].queryset = clients.order_by("name")
        # Only periods that have ended for every client offered, whatever its time zone.
        zones = clients.values_list("timezone", flat=True).distinct()
        self.fields["period"].choices = period_choices(earliest_local_date(timezone.now(), zones))

    def clean_period(self) -> Period:
        kind, _, first_day = self.cleaned_data["period"].partition(":")
        return Period(kind, forms.DateField().clean(first_day))


class ReportAnnotateForm(forms.Form):
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), required=False, max_length=10_000
    )
    recommendations = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), required=False, max_length=10_000
    )


class ReportSendForm(forms.Form):
    """Whom to send a report to, among its client's contacts; sent once `confirmed`, after the
    account manager has seen the list."""

    contacts = forms.ModelMultipleChoiceField(
        queryset=Contact.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one contact to send it to."},
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, report: Report, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contacts"].queryset = report_recipient_choices(report.client).order_by(
            "full_name", "pk"
        )
