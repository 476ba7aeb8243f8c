from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from msp.choices import TokenScope


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
