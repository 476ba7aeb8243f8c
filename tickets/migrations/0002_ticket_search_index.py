"""Full-text search on ticket subject and description, on PostgreSQL only (SQLite searches with
LIKE). The expression matches TicketQuerySet.search, so the planner uses the index."""

from django.db import migrations

INDEX = "ticket_search_gin_idx"
EXPRESSION = (
    "(to_tsvector('english'::regconfig, COALESCE(subject, '')) || "
    "to_tsvector('english'::regconfig, COALESCE(description, '')))"
)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON tickets_ticket USING gin ({EXPRESSION})"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
