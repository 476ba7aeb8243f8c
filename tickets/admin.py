from django import forms
from django.contrib import admin, messages
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from msp.admin import AppendOnlyAdmin
from tickets.choices import InboundStatus
from tickets.intake.mail import email_retry
from tickets.models import (
    Alert,
    AlertSettings,
    AlertStorm,
    InboundEmail,
    Mailbox,
    TimelineEvent,
    UnroutedAlert,
)


class MailboxForm(forms.ModelForm):
    """The stored password is never sent back to the browser: the field is always empty, and
    left empty it keeps the password the mailbox has."""

    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        strip=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.pop("password", None)
        if self.instance.pk:
            self.fields["password"].required = False
            self.fields["password"].help_text = "Leave empty to keep the current password."

    def clean_password(self) -> str:
        return self.cleaned_data["password"] or self.instance.password

    class Meta:
        model = Mailbox
        fields = [
            "name",
            "host",
            "port",
            "use_ssl",
            "username",
            "password",
            "folder",
            "default_client",
            "is_active",
        ]


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = ["name", "username", "host", "folder", "default_client", "is_active"]
    list_display += ["last_polled_at", "last_error"]
    readonly_fields = ["last_polled_at", "last_error"]

    # The password is posted here: Django's error reports show it as stars.
    @method_decorator(sensitive_post_parameters("password"))
    def changeform_view(self, request, *args, **kwargs):
        return super().changeform_view(request, *args, **kwargs)


@admin.register(InboundEmail)
class InboundEmailAdmin(admin.ModelAdmin):
    list_display = ["received_at", "sender", "subject", "status", "reason", "ticket", "attempts"]
    list_filter = ["status", "mailbox"]
    search_fields = ["sender", "subject", "message_id"]
    readonly_fields = [field.name for field in InboundEmail._meta.fields if field.name != "raw"]
    exclude = ["raw"]
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Process the selected quarantined messages again")
    def retry(self, request, queryset):
        done = 0
        for inbound in queryset.filter(status=InboundStatus.QUARANTINED):
            if email_retry(inbound=inbound).status != InboundStatus.QUARANTINED:
                done += 1
        messages.info(request, f"{done} message(s) processed; the others stay quarantined.")


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["source", "fingerprint", "client", "severity", "occurrences", "flaps"]
    list_display += ["ticket", "first_seen_at", "resolved_at"]
    list_filter = ["source", "severity"]
    search_fields = ["fingerprint", "summary"]
    raw_id_fields = ["ticket", "asset"]


@admin.register(AlertSettings)
class AlertSettingsAdmin(admin.ModelAdmin):
    """One row: the flap window and the storm rule, changed without a deploy."""

    list_display = ["__str__", "flap_window_minutes", "storm_threshold", "storm_window_minutes"]

    def has_add_permission(self, request):
        return not AlertSettings.objects.exists()

    def save_model(self, request, obj, form, change):
        obj.pk = 1  # the singleton's row, whatever the id sequence says
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AlertStorm)
class AlertStormAdmin(admin.ModelAdmin):
    list_display = ["ticket", "client", "started_at", "last_alert_at", "alert_tickets"]
    list_select_related = ["ticket", "client"]
    raw_id_fields = ["ticket"]

    def has_add_permission(self, request):
        return False


@admin.register(UnroutedAlert)
class UnroutedAlertAdmin(admin.ModelAdmin):
    """Read-only here: routing opens a ticket, which the staff workspace does."""

    list_display = ["source", "fingerprint", "summary", "reason", "received_at", "routed_client"]
    list_filter = ["source"]
    search_fields = ["fingerprint", "summary", "asset_reference"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TimelineEvent)
class TimelineEventAdmin(AppendOnlyAdmin):
    list_display = ["ticket", "kind", "at", "actor", "old_value", "new_value"]
    list_filter = ["kind"]
    list_select_related = ["ticket", "actor"]
    raw_id_fields = ["ticket", "actor", "comment"]
