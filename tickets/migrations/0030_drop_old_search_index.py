"""The queue's word search reads the stored search vector (migration 0028) like search
everywhere, so the expression index of migration 0002 goes: every ticket write computed the
subject's and description's vector twice, once for each GIN index. On PostgreSQL only (SQLite
never had it). Dropped CONCURRENTLY, outside a transaction, so ticket writes are not blocked;
the way back builds it again the same way."""

from django.db import migrations

from tickets.migration_operations import RunSQLOnPostgres

INDEX = "ticket_search_gin_idx"
EXPRESSION = (
    "(to_tsvector('english'::regconfig, COALESCE(subject, '')) || "
    "to_tsvector('english'::regconfig, COALESCE(description, '')))"
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0029_search_reads")]

    operations = [
        RunSQLOnPostgres(
            f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}",
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON tickets_ticket USING gin "
            f"({EXPRESSION})",
        )
    ]
