from django.contrib import admin
from django.utils.html import format_html, format_html_join

from msp.admin import AppendOnlyAdmin
from sla.forms import SLATargetFormSetBase, WorkingIntervalFormSetBase
from sla.models import (
    BusinessCalendar,
    CalendarVersion,
    EscalationRule,
    Holiday,
    SLAClock,
    SLAEvent,
    SLAPolicy,
    SLATarget,
    WorkingInterval,
)
from sla.services import calendar_version_append, calendar_versions_ensure


class WorkingIntervalInline(admin.TabularInline):
    model = WorkingInterval
    formset = WorkingIntervalFormSetBase
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "is_24x7", "holiday_country", "holiday_subdivision"]
    search_fields = ["name"]
    inlines = [WorkingIntervalInline, HolidayInline]
    readonly_fields = ["version_history"]

    @admin.display(description="Versions")
    def version_history(self, calendar: BusinessCalendar) -> str:
        rows = [
            (
                version.effective_from or "the start",
                version.timezone,
                "24x7" if version.is_24x7 else f"{version.weekly_hours:g} h a week",
                len(version.holidays),
            )
            for version in calendar.versions.all()
        ]
        if not rows:
            return "No change on record yet."
        return format_html(
            "<table><tr><th>In force from</th><th>Time zone</th><th>Hours</th><th>Holidays</th>"
            "</tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    def save_model(self, request, obj, form, change) -> None:
        if change:
            # Before anything is saved: the rules in force until now must be on record.
            calendar_versions_ensure(calendar=obj)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # The edit (row and inlines) takes effect from now on, as a new version.
        calendar_version_append(calendar=form.instance)


@admin.register(CalendarVersion)
class CalendarVersionAdmin(AppendOnlyAdmin):
    """Shown, never added, changed or deleted: a calendar is edited as a whole, and each edit
    appends a version (see the calendar's own page)."""

    list_display = ["calendar", "effective_from", "recorded_at", "timezone", "is_24x7"]
    list_select_related = ["calendar"]
    list_filter = ["calendar"]


class SLATargetInline(admin.TabularInline):
    model = SLATarget
    formset = SLATargetFormSetBase
    extra = 0
    min_num = 4
    max_num = 4


class EscalationRuleInline(admin.StackedInline):
    model = EscalationRule
    extra = 0
    fields = [
        ("name", "is_active"),
        ("trigger", "clock_kind", "priorities", "minutes"),
        ("raise_tier", "reassign_to"),
        ("notify_assignee", "notify_team_lead", "notify_account_manager", "notify_client_contact"),
        "notify_email",
    ]
    raw_id_fields = ["reassign_to"]


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "calendar",
        "first_warning_percent",
        "second_warning_percent",
        "is_default",
    ]
    list_select_related = ["calendar"]
    inlines = [SLATargetInline, EscalationRuleInline]


@admin.register(SLAClock)
class SLAClockAdmin(AppendOnlyAdmin):
    """Read only: clocks change through ticket services and the sweep, never by hand."""

    list_display = ["ticket", "kind", "cycle", "state", "due_at", "breached_at", "next_check_at"]
    list_filter = ["kind", "state"]
    raw_id_fields = ["ticket"]


@admin.register(SLAEvent)
class SLAEventAdmin(AppendOnlyAdmin):
    list_display = ["clock", "key", "due_at", "recorded_at", "written_at"]
    list_select_related = ["clock"]
