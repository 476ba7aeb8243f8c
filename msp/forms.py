from django import forms
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
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Blank: until revoked.",
    )

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        if day is not None and day <= timezone.localdate():
            raise forms.ValidationError("Choose a date in the future.")
        return day


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
