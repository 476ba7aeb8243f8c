from datetime import date, timedelta

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from msp.choices import TokenScope
from msp.models import Team


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def clean_username(self) -> str:
        return self.cleaned_data["username"].lower()


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “RMM alerts”.")
    scope = forms.ChoiceField(
        choices=TokenScope.choices,
        help_text="Read: GET only. Read and write: everything your role may do. Alerts only: "
        "POST monitoring alerts, nothing else.",
    )
    expires_on = forms.DateField(
        required=False,
        # ISO, as <input type="date"> takes its value.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Blank: never.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Tokens expire by default (API_TOKEN_EXPIRY_DAYS, 0 for never); blank is the default.
        days = settings.API_TOKEN_EXPIRY_DAYS
        if days:
            self.fields["expires_on"].initial = self.default_expiry()
            self.fields["expires_on"].help_text = f"Blank: in {days} days."

    @staticmethod
    def default_expiry() -> date | None:
        days = settings.API_TOKEN_EXPIRY_DAYS
        return timezone.localdate() + timedelta(days=days) if days else None

    def clean_expires_on(self) -> date | None:
        day = self.cleaned_data["expires_on"]
        if day is not None and day <= timezone.localdate():
            raise forms.ValidationError("Choose a date in the future.")
        return day or self.default_expiry()


class ClientTeamsForm(forms.Form):
    """An administrator's choice of the teams that serve a client, among the teams narrowed
    to their clients (a team that serves all clients already serves it)."""

    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.filter(serves_all_clients=False).order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Their members and leads see this client's tickets, contacts, assets, "
        "contracts and reports.",
    )
