"""Forms of the queue page: a bulk change to the chosen tickets, and saved views."""

from django import forms
from django.core import signing

from msp.choices import Tier
from msp.models import Team, User
from sla.choices import Priority
from tickets.forms import staff_choices
from tickets.models import SavedView
from tickets.services.bulk import BULK_LIMIT

CONFIRM_SALT = "tickets.confirm"
CONFIRM_MAX_AGE = 15 * 60


def confirmation_token(*values) -> str:
    """A token for the confirm button of a preview: it is valid for that very change (the
    same action, tickets and target) and a quarter of an hour, so a preview left open, or
    a crafted POST, cannot confirm something else."""
    return signing.dumps([str(value) for value in values], salt=CONFIRM_SALT, compress=True)


def confirmed(token: str | None, *values) -> bool:
    if not token:
        return False
    try:
        said = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        return False
    return said == [str(value) for value in values]


class TicketIdsField(forms.Field):
    """Ticket numbers from the queue's checkboxes (`tickets=12&tickets=15`)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        numbers = []
        for item in values:
            text = str(item).strip().lstrip("#")
            if not text.isdigit() or len(text) > 12:
                raise forms.ValidationError(f"{item!r} is not a ticket number.")
            numbers.append(int(text))
        return sorted(set(numbers))

    def validate(self, value) -> None:
        super().validate(value)
        if len(value) > BULK_LIMIT:
            raise forms.ValidationError(f"Choose at most {BULK_LIMIT} tickets at a time.")


class BulkForm(forms.Form):
    """One change to the chosen tickets. Each action reads only its own fields."""

    ASSIGN, ROUTE, STATUS, PRIORITY, MERGE, CLOSE = (
        "assign",
        "route",
        "status",
        "priority",
        "merge",
        "close",
    )
    # Actions that cannot be undone from the page: they show a preview and ask first.
    DESTRUCTIVE = (MERGE, CLOSE)

    action = forms.ChoiceField(
        choices=[(a, a) for a in (ASSIGN, ROUTE, STATUS, PRIORITY, MERGE, CLOSE)]
    )
    tickets = TicketIdsField(error_messages={"required": "Choose at least one ticket."})
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Nobody", label="Assign to"
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"), required=False, empty_label="(team as is)"
    )
    tier = forms.ChoiceField(choices=[("", "(tier as is)"), *Tier.choices], required=False)
    status = forms.ChoiceField(
        choices=[
            ("", "(choose)"),
            ("new", "New"),
            ("in_progress", "In progress"),
            ("waiting_on_client", "Waiting on client"),
            ("waiting_on_third_party", "Waiting on third party"),
            ("scheduled", "Scheduled"),
            ("cancelled", "Cancelled"),
        ],
        required=False,
    )
    note = forms.CharField(max_length=300, required=False, label="Status note")
    priority = forms.ChoiceField(choices=[("", "(choose)"), *Priority.choices], required=False)
    reason = forms.CharField(max_length=300, required=False, label="Reason for the priority")
    target = forms.IntegerField(min_value=1, required=False, label="Merge into ticket number")
    confirm = forms.CharField(required=False, widget=forms.HiddenInput)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "bulk_%s")
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff_choices()

    def clean(self):
        data = super().clean()
        action = data.get("action")
        required = {
            self.STATUS: {"status": "Choose the new status."},
            self.PRIORITY: {
                "priority": "Choose the priority.",
                "reason": "Say why these tickets change priority.",
            },
            self.MERGE: {"target": "Give the ticket to merge into."},
        }.get(action, {})
        for name, message in required.items():
            if not data.get(name) and name not in self.errors:
                self.add_error(name, message)
        if action == self.ROUTE and not data.get("team") and not data.get("tier"):
            self.add_error("team", "Choose a team or a tier.")
        return data

    @property
    def is_destructive(self) -> bool:
        data = self.cleaned_data
        return data["action"] in self.DESTRUCTIVE or (
            data["action"] == self.STATUS and data.get("status") == "cancelled"
        )

    def confirmation_values(self) -> tuple:
        data = self.cleaned_data
        return (
            data["action"],
            ",".join(map(str, data["tickets"])),
            data.get("target") or "",
            data.get("status") or "",
        )


class SavedViewForm(forms.ModelForm):
    class Meta:
        model = SavedView
        fields = ["name", "shared"]
        labels = {"name": "View name", "shared": "Share with everyone"}

    def __init__(self, *args, may_share: bool = False, **kwargs) -> None:
        kwargs.setdefault("auto_id", "savedview_%s")
        super().__init__(*args, **kwargs)
        if not may_share:
            del self.fields["shared"]
