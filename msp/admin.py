from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.shortcuts import redirect

from msp.mfa import mfa_reset
from msp.models import (
    Asset,
    Client,
    Contact,
    Heartbeat,
    Notification,
    OutboxMessage,
    SecuritySettings,
    Site,
    Team,
    User,
)
from msp.services import outbox_replay, user_sign_out_everywhere


def superusers_only(request) -> bool:
    """The Django admin is for superusers: it bypasses the services and their rules, so
    administrators work in the app's own pages (directory and configuration) instead."""
    user = request.user
    return user.is_active and user.is_superuser


# The one site every app registers on (django.contrib.admin.site); swapping it for a subclass
# would need INSTALLED_APPS to name a custom AdminConfig, for one method.
admin.site.has_permission = superusers_only


class AppendOnlyAdmin(admin.ModelAdmin):
    """For the SLA record (clocks, SLA events, timeline): shown, never added, changed or
    deleted by hand. Corrections are new facts written by services."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["full_name"]
    list_display = ["email", "full_name", "role", "tier", "client", "is_active"]
    list_filter = ["role", "tier", "is_active", "client"]
    search_fields = ["email", "full_name"]
    list_select_related = ["client"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name", "phone"]}),
        ("Role", {"fields": ["role", "tier", "client"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "sessions_revoked_at"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "email",
                    "full_name",
                    "role",
                    "tier",
                    "client",
                    "password1",
                    "password2",
                ],
            },
        )
    ]
    readonly_fields = ["last_login", "sessions_revoked_at"]
    actions = ["reset_two_factor", "sign_out_everywhere"]

    @admin.action(description="Sign out everywhere and revoke all API tokens")
    def sign_out_everywhere(self, request, queryset):
        revoked = sum(user_sign_out_everywhere(user=user) for user in queryset)
        self.message_user(
            request,
            f"{queryset.count()} user(s) signed out everywhere; {revoked} API token(s) revoked.",
        )

    @admin.action(description="Reset two-factor sign-in (lost device)")
    def reset_two_factor(self, request, queryset):
        for user in queryset:
            mfa_reset(user=user)
        self.message_user(
            request,
            f"Two-factor sign-in reset for {queryset.count()} user(s): they set it up again "
            "at their next sign-in where it is required.",
        )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """Teams, their people and the clients they serve (whose data their members see)."""

    list_display = ["name", "tier", "lead", "serves_all_clients"]
    list_filter = ["serves_all_clients", "tier"]
    filter_horizontal = ["members", "clients"]
    list_select_related = ["lead"]
    fieldsets = [
        (None, {"fields": ["name", "tier", "lead", "email"]}),
        ("People", {"fields": ["members"]}),
        ("Clients", {"fields": ["serves_all_clients", "clients"]}),
    ]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        team = form.instance
        if not team.serves_all_clients and not team.clients.exists():
            messages.warning(
                request,
                f"{team.name} serves no client: its members see no client's data until you "
                "choose its clients or tick “Serves all clients”.",
            )


class SiteInline(admin.TabularInline):
    model = Site
    extra = 0


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "timezone", "account_manager"]
    list_filter = ["status"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["account_manager"]
    inlines = [SiteInline]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "client", "timezone"]
    list_filter = ["client"]
    search_fields = ["name", "client__name"]
    list_select_related = ["client"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["full_name", "client", "email", "role", "user", "is_active"]
    list_filter = ["role", "is_active", "client"]
    search_fields = ["full_name", "email", "client__name"]
    list_select_related = ["client", "user"]
    raw_id_fields = ["user"]


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "client", "site", "hostname", "rmm_id", "is_active"]
    list_filter = ["kind", "is_active", "client"]
    search_fields = ["name", "hostname", "serial_number", "rmm_id"]
    list_select_related = ["client", "site"]


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "last_run_at"]
    readonly_fields = ["name", "last_run_at"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = [
        "subject",
        "channel",
        "email",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["status", "channel"]
    search_fields = ["subject", "email", "key"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["replay"]

    @admin.action(description="Deliver again (failed or pending messages)")
    def replay(self, request, queryset) -> None:
        count = outbox_replay(message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} messages queued for delivery.")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "recipient", "created_at", "read_at"]
    list_select_related = ["recipient"]


@admin.register(SecuritySettings)
class SecuritySettingsAdmin(admin.ModelAdmin):
    """The sign-in policy: whether staff must use two-factor sign-in (clients decide for their
    own portal users on the client)."""

    def has_add_permission(self, request) -> bool:
        return not SecuritySettings.objects.exists()

    def save_model(self, request, obj, form, change) -> None:
        obj.pk = 1  # the one row
        super().save_model(request, obj, form, change)

    def changelist_view(self, request, extra_context=None):
        # One row: its page (or, before it is first saved, the defaults in force to save).
        if SecuritySettings.objects.exists():
            return redirect("admin:msp_securitysettings_change", 1)
        return redirect("admin:msp_securitysettings_add")

    def render_change_form(self, request, context, *args, **kwargs):
        context.update(show_save_and_add_another=False)
        return super().render_change_form(request, context, *args, **kwargs)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
