from datetime import datetime

from django import forms
from django.utils import timezone

from msp.choices import UserRole
from msp.models import Asset, Client, Contact, Site, User
from sla.choices import Priority
from tickets.choices import Impact, TicketSource, TicketStatus, TicketType, Urgency, WorkType
from tickets.models import CannedResponse


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class ActionForm(forms.Form):
    """A form of the ticket page. Several share field names (note, reason), so each form
    class prefixes its element ids to keep labels pointing at the right field."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", f"{type(self).__name__.lower()}_%s")
        super().__init__(*args, **kwargs)


def staff_choices(client_id: int | None = None):
    """Active staff; given a client, those who serve it (who may be given its tickets)."""
    if client_id is not None:
        return User.objects.seeing_client(client_id).order_by("full_name")
    return User.objects.filter(is_active=True).exclude(role=UserRole.CLIENT).order_by("full_name")


class TicketCreateForm(forms.Form):
    """Phone intake: the client first (of those the user sees), then its contacts, sites and
    assets, and the staff who serve it."""

    client = forms.ModelChoiceField(queryset=Client.objects.none())
    contact = forms.ModelChoiceField(queryset=Contact.objects.none(), required=False)
    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False)
    asset = forms.ModelChoiceField(queryset=Asset.objects.none(), required=False)
    subject = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False)
    type = forms.ChoiceField(choices=TicketType.choices, initial=TicketType.INCIDENT)
    category = forms.CharField(max_length=60, required=False)
    source = forms.ChoiceField(choices=TicketSource.choices, initial=TicketSource.PHONE)
    impact = forms.ChoiceField(choices=Impact.choices, initial=Impact.LOW)
    urgency = forms.ChoiceField(choices=Urgency.choices, initial=Urgency.MEDIUM)
    priority = forms.ChoiceField(
        choices=[("", "From the matrix"), *Priority.choices],
        required=False,
        help_text="Leave to the impact x urgency matrix unless there is a reason.",
    )
    priority_override_reason = forms.CharField(max_length=300, required=False, label="Reason")
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False)

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        clients = Client.objects.for_user(user)
        self.fields["client"].queryset = clients.order_by("name")
        self.fields["assignee"].queryset = staff_choices()
        client_id = self.data.get("client") or self.initial.get("client")
        if client_id and str(client_id).isdigit() and int(client_id) in user.visible_clients():
            self.fields["contact"].queryset = Contact.objects.filter(
                client_id=client_id, is_active=True
            )
            self.fields["site"].queryset = Site.objects.filter(client_id=client_id)
            self.fields["asset"].queryset = Asset.objects.filter(
                client_id=client_id, is_active=True
            )
            self.fields["assignee"].queryset = staff_choices(int(client_id))


class CommentForm(ActionForm):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="Message")
    attachments = MultipleFileField(label="Files")
    # The latest timeline entry when the composer was drawn: a reply written without seeing
    # someone else's newer reply is refused once (tickets.live.stale_write_check).
    seen_event = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)


class ComposerForm(CommentForm):
    """A composer of the ticket page. Its text and files are kept (hx-preserve) when the
    page's main part is redrawn after another action, so typing is never lost."""

    composer = ""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].widget.attrs.update(
            {"hx-preserve": "true", "data-composer-body": self.composer, "rows": 6}
        )
        self.fields["attachments"].widget.attrs.update(
            {"hx-preserve": "true", "data-composer-input": self.composer}
        )


class ReplyForm(ComposerForm):
    """The public reply composer: emailed to the client's contact."""

    composer = "reply"


class NoteForm(ComposerForm):
    """The internal note composer: staff only, never emailed."""

    composer = "note"


class CannedResponseForm(forms.ModelForm):
    """A canned response; `shared` only for those who may keep shared ones."""

    shared = forms.BooleanField(
        required=False, help_text="Every technician may use it (administrators and dispatchers)."
    )

    class Meta:
        model = CannedResponse
        fields = ["title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}

    def __init__(self, *args, may_share: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if may_share:
            editing_shared = self.instance.pk is not None and not self.instance.owner_id
            self.fields["shared"].initial = editing_shared
        else:
            del self.fields["shared"]


class AssignForm(ActionForm):
    """The assignee: one of the staff who serve the ticket's client."""

    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Nobody"
    )

    def __init__(self, *args, client_id: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff_choices(client_id)


class ContactForm(ActionForm):
    """The ticket's contact; the choices are the client's, the service checks the choice."""

    contact = forms.ModelChoiceField(
        queryset=Contact.objects.filter(is_active=True), required=False, empty_label="Nobody"
    )

    def __init__(self, *args, client_id: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if client_id is not None:
            self.fields["contact"].queryset = Contact.objects.filter(
                client_id=client_id, is_active=True
            ).order_by("full_name")


class StatusForm(ActionForm):
    status = forms.ChoiceField(
        choices=[
            (value, label)
            for value, label in TicketStatus.choices
            if value not in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        ]
    )
    note = forms.CharField(max_length=300, required=False)


class PriorityForm(ActionForm):
    impact = forms.ChoiceField(choices=Impact.choices)
    urgency = forms.ChoiceField(choices=Urgency.choices)
    priority = forms.ChoiceField(
        choices=[("", "From the matrix"), *Priority.choices], required=False
    )
    reason = forms.CharField(max_length=300, required=False)


class ReasonForm(ActionForm):
    reason = forms.CharField(max_length=500)


class ResolveForm(ActionForm):
    resolution = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class MergeForm(ActionForm):
    target = forms.IntegerField(min_value=1, label="Merge into ticket number")


class ParentForm(ActionForm):
    parent = forms.IntegerField(min_value=1, required=False, label="Parent ticket number")


class TimeEntryForm(ActionForm):
    """Time on a ticket: the minutes, or a start and an end on the day (the minutes are then
    end - start). An entry past midnight is logged as two, one per day."""

    spent_on = forms.DateField(
        required=False, label="Day", widget=forms.DateInput(attrs={"type": "date"})
    )
    start = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    minutes = forms.IntegerField(
        min_value=1, max_value=1440, required=False, help_text="Or a start and an end."
    )
    work_type = forms.ChoiceField(choices=WorkType.choices, initial=WorkType.REMOTE)
    billable = forms.BooleanField(required=False, initial=True)
    note = forms.CharField(max_length=500, required=False)

    def clean(self):
        data = super().clean()
        start, end = data.pop("start", None), data.pop("end", None)
        if self.errors:
            return data
        if (start is None) != (end is None):
            self.add_error("end" if end is None else "start", "Give both the start and the end.")
            return data
        data["started_at"] = data["ended_at"] = None
        if start is not None:
            day = data.get("spent_on") or timezone.localdate()
            zone = timezone.get_current_timezone()
            started_at = datetime.combine(day, start, tzinfo=zone)
            ended_at = datetime.combine(day, end, tzinfo=zone)
            if ended_at <= started_at:
                self.add_error("end", "The end must be after the start, on the same day.")
                return data
            data.update(spent_on=day, started_at=started_at, ended_at=ended_at, minutes=None)
        elif not data.get("minutes"):
            self.add_error("minutes", "Give the minutes, or a start and an end.")
        return data


class AttachmentForm(ActionForm):
    attachments = MultipleFileField(label="Files", required=True)


class PortalTicketForm(forms.Form):
    """A client user reports a problem or asks for something."""

    subject = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), label="Details")
    type = forms.ChoiceField(
        choices=[
            (TicketType.INCIDENT, "Something is broken"),
            (TicketType.SERVICE_REQUEST, "A request"),
        ]
    )
    impact = forms.ChoiceField(choices=Impact.choices, initial=Impact.LOW, label="Who is affected")
    urgency = forms.ChoiceField(
        choices=Urgency.choices, initial=Urgency.MEDIUM, label="How urgent is it"
    )
    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False)
    asset = forms.ModelChoiceField(queryset=Asset.objects.none(), required=False, label="Device")
    attachments = MultipleFileField(label="Files")

    def __init__(self, *args, client_id: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = Site.objects.filter(client_id=client_id).order_by("name")
        self.fields["asset"].queryset = Asset.objects.filter(
            client_id=client_id, is_active=True
        ).order_by("name")
