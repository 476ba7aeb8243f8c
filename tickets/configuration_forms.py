"""Forms of the priority matrix and mailbox pages."""

from django import forms

from msp.models import Client
from sla.choices import Priority
from tickets.choices import Impact, Urgency
from tickets.models import Mailbox
from tickets.services.configuration import MAILBOX_FIELDS


def cell_field_name(impact: str, urgency: str) -> str:
    return f"cell_{impact}_{urgency}"


class PriorityMatrixForm(forms.Form):
    """One choice of priority per impact x urgency cell."""

    def __init__(self, *args, matrix: dict[tuple[str, str], str], **kwargs):
        super().__init__(*args, **kwargs)
        for impact in Impact:
            for urgency in Urgency:
                self.fields[cell_field_name(impact, urgency)] = forms.ChoiceField(
                    choices=Priority.choices,
                    initial=matrix[(impact, urgency)],
                    label=f"Priority for {impact.label.lower()} impact and "
                    f"{urgency.label.lower()} urgency",
                )

    def rows(self) -> list[tuple[str, list]]:
        """(impact label, [bound field per urgency]) for the grid."""
        return [
            (impact.label, [self[cell_field_name(impact, urgency)] for urgency in Urgency])
            for impact in Impact
        ]

    def cells(self) -> dict[tuple[str, str], str]:
        return {
            (impact.value, urgency.value): self.cleaned_data[cell_field_name(impact, urgency)]
            for impact in Impact
            for urgency in Urgency
        }


class MailboxForm(forms.ModelForm):
    """The stored password never goes back to the browser: the field is always empty and,
    left empty on a change, keeps the mailbox's password."""

    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        strip=False,
    )

    class Meta:
        model = Mailbox
        fields = [name for name in MAILBOX_FIELDS if name != "is_active"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.pop("password", None)
        self.fields["default_client"].queryset = Client.objects.order_by("name")
        if self.instance.pk:
            self.fields["password"].required = False
            self.fields["password"].help_text = "Leave empty to keep the current password."

    def service_fields(self) -> dict:
        return dict(self.cleaned_data)
