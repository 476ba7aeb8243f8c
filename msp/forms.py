from datetime import date, timedelta

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from msp.choices import TokenScope, UserRole
from msp.models import Asset, Client, Contact, Site, Team, User
from msp.querysets import ClientScopedQuerySet
from msp.services import ASSET_FIELDS, CLIENT_FIELDS, CONTACT_FIELDS, SITE_FIELDS, TEAM_FIELDS
from msp.timetext import known_zones


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


# The directory ---------------------------------------------------------------------------------
# ModelForms over the models' own validation (clean() and constraints run again in the
# services). Choices of clients, sites, people and teams are narrowed to what the user sees,
# so another client's row is "Select a valid choice", as if it did not exist.

TIMEZONE_WIDGET = forms.TextInput(attrs={"list": "timezones", "placeholder": "Europe/Berlin"})


class DirectoryForm(forms.ModelForm):
    """A directory row's form for `user`; on an existing row its client is fixed (its
    tickets, contracts and reports belong to that client)."""

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        for name, field in self.fields.items():
            queryset = getattr(field, "queryset", None)
            if isinstance(queryset, ClientScopedQuerySet):
                field.queryset = queryset.for_user(user)
            if name == "client" and self.instance.pk:
                field.disabled = True

    def service_fields(self) -> dict:
        """The cleaned values the service takes (a fixed client is not sent again)."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if not self.fields[name].disabled
        }


class ClientForm(DirectoryForm):
    class Meta:
        model = Client
        fields = list(CLIENT_FIELDS)
        widgets = {
            "timezone": TIMEZONE_WIDGET,
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        managers = User.objects.filter(role=UserRole.ACCOUNT_MANAGER, is_active=True)
        self.fields["account_manager"].queryset = managers.order_by("full_name")
        self.fields["slug"].help_text = "Its short name in addresses, e.g. “acme”."
        if self.user.role != UserRole.ADMIN:
            # A sign-in policy of the client's users: an administrator's decision.
            del self.fields["require_mfa"]


class SiteForm(DirectoryForm):
    class Meta:
        model = Site
        fields = list(SITE_FIELDS)
        widgets = {"timezone": TIMEZONE_WIDGET, "address": forms.Textarea(attrs={"rows": 2})}


class ContactForm(DirectoryForm):
    class Meta:
        model = Contact
        fields = [name for name in CONTACT_FIELDS if name != "is_active"]

    def clean(self):
        data = super().clean()
        client, email = data.get("client") or self.instance.client_id, data.get("email")
        if client and email:
            taken = Contact.objects.filter(client=client, email__iexact=email).exclude(
                pk=self.instance.pk
            )
            if taken.exists():
                self.add_error("email", "Another contact of this client has this email.")
        return data


class AssetForm(DirectoryForm):
    class Meta:
        model = Asset
        fields = [name for name in ASSET_FIELDS if name != "is_active"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def clean(self):
        data = super().clean()
        client, rmm_id = data.get("client") or self.instance.client_id, data.get("rmm_id")
        if client and rmm_id:
            # Said on the field, not as the constraint's name (asset_unique_rmm_id_per_client).
            taken = Asset.objects.filter(client=client, rmm_id=rmm_id).exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error("rmm_id", "Another asset of this client has this RMM id.")
        return data


class PersonForm(DirectoryForm):
    """A person an administrator invites or changes: staff with their role, tier and teams,
    or a client's user. No password here: new people are emailed a link to choose one."""

    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Staff only. Their teams decide which clients they see.",
    )

    class Meta:
        model = User
        fields = ["email", "full_name", "role", "tier", "client", "phone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tier"].help_text = "Technicians only."
        self.fields["client"].help_text = "Client users only."
        if self.instance.pk:
            self.fields["client"].disabled = False  # a person's client is theirs to change
            self.initial["teams"] = list(self.instance.teams.values_list("pk", flat=True))

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.cleaned_data.get("teams") and self.cleaned_data.get("role") == UserRole.CLIENT:
            self.add_error("teams", "Client users are in no team.")


class TeamForm(DirectoryForm):
    members = forms.ModelMultipleChoiceField(
        queryset=User.objects.staff().filter(is_active=True).order_by("full_name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    clients = forms.ModelMultipleChoiceField(
        queryset=Client.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The clients it serves, unless it serves all clients.",
    )

    class Meta:
        model = Team
        fields = [*TEAM_FIELDS, "members", "clients"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = User.objects.staff().filter(is_active=True)


class TimezoneForm(forms.Form):
    """The zone a person reads times in; blank: the browser's (static/js/timezone.js)."""

    timezone = forms.ChoiceField(
        label="Time zone",
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text="Every time in the app is shown in this zone, with its name.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = [("", "The browser's time zone")] + [
            (name, name.replace("_", " ")) for name in sorted(known_zones())
        ]
