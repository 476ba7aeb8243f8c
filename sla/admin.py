from django.contrib import admin

from msp.admin import AppendOnlyAdmin
from sla.forms import SLATargetFormSetBase, WorkingIntervalFormSetBase
from sla.models import (
    BusinessCalendar,
    EscalationRule,
    Holiday,
    SLAClock,
    SLAEvent,
    SLAPolicy,
    SLATarget,
    WorkingInterval,
)
from sla.services import calendar_touch


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

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # Inline edits do not touch the calendar row; bump it so cached engines are rebuilt.
        calendar_touch(calendar=form.instance)


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
    list_display = ["clock", "key", "due_at", "recorded_at"]
    list_select_related = ["clock"]
