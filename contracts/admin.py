from django.contrib import admin

from contracts.models import ComplianceTarget, Contract, MaintenanceWindow, Outage, ServiceLine


class ComplianceTargetInline(admin.TabularInline):
    model = ComplianceTarget
    extra = 0


class ServiceLineInline(admin.StackedInline):
    model = ServiceLine
    extra = 0


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "client", "type", "status", "start_date", "end_date"]
    list_filter = ["status", "type"]
    search_fields = ["number", "name", "client__name"]
    list_select_related = ["client"]
    inlines = [ComplianceTargetInline, ServiceLineInline]


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    list_display = ["name", "contract", "asset", "start", "duration_minutes", "recurrence"]
    list_select_related = ["contract", "asset"]
    raw_id_fields = ["asset"]


@admin.register(Outage)
class OutageAdmin(admin.ModelAdmin):
    list_display = ["contract", "service", "start", "end", "planned", "ticket"]
    list_filter = ["service", "planned"]
    list_select_related = ["contract"]
    raw_id_fields = ["ticket"]
