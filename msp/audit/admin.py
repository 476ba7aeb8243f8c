from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin

from msp.admin import AppendOnlyAdmin

admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class AuditEntryAdmin(AppendOnlyAdmin, LogEntryAdmin):
    """The audit trail, shown and searched, never added, changed or deleted (not even by the
    cascade of deleting a user: the rows keep the actor's email)."""
