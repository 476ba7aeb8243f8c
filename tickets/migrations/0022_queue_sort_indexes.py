"""The queue's sorts by priority, last change and client, on open tickets: built
concurrently, so the ticket table stays writable while they build."""

from django.db import migrations, models

# PostgreSQL's CREATE INDEX CONCURRENTLY, and a plain index on SQLite (the embedded default).
from tickets.migration_operations import AddIndexConcurrentlyOnPostgres as AddIndexConcurrently

OPEN = models.Q(
    (
        "status__in",
        ("new", "in_progress", "waiting_on_client", "waiting_on_third_party", "scheduled"),
    )
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0021_saved_views")]

    operations = [
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                models.F("priority"),
                models.F("sla_due_at"),
                models.F("id"),
                condition=OPEN,
                name="ticket_open_priority_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                models.F("updated_at"),
                models.F("id"),
                condition=OPEN,
                name="ticket_open_updated_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                models.F("client"),
                models.F("sla_due_at"),
                models.F("id"),
                condition=OPEN,
                name="ticket_open_client_idx",
            ),
        ),
    ]
