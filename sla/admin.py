from django.contrib import admin

from sla.forms import SLATargetFormSetBase, WorkingIntervalFormSetBase
from sla.models import BusinessCalendar, Holiday, SLAPolicy, SLATarget, WorkingInterval
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
    inlines = [SLATargetInline]
