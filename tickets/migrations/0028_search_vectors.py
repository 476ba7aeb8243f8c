"""Stored full-text vectors for search everywhere (tickets/search.py), on PostgreSQL only: SQLite
(the embedded demo) has no tsvector, and tickets/search.py searches it with LIKE instead.

- tickets_ticket.search_vector: the subject (weight A) and the description (weight B);
- tickets_comment.search_vector: the body (weight C), replies and internal notes alike (who may
  see a note is decided by the query, on is_public).

A trigger keeps each vector up to date on insert and when its text changes, so no code path
(services, COPY, raw SQL) can leave it stale. A generated column would rewrite the ticket table
under an exclusive lock while it is added; this way the column is added without a rewrite, the
rows are filled in batches of 5,000 (each committed on its own, so no long row locks), and the
GIN indexes are built CONCURRENTLY: the migration is non-atomic and every step can run again
after a failure (a lock timeout, then a retry of `migrate`). Only the first 100,000 characters
of a text are indexed: a tsvector holds at most 1 MB, and a longer email must not fail its
ticket's insert.

The columns are not in the Django models: nothing writes them but the triggers, and the search
reads them by name (tickets/search.py).
"""

from django.db import migrations

FUNCTIONS = [
    """
CREATE OR REPLACE FUNCTION tickets_ticket_search_vector_of(subject text, description text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english'::regconfig, left(coalesce(subject, ''), 100000)), 'A')
        || setweight(to_tsvector('english'::regconfig, left(coalesce(description, ''), 100000)), 'B')
$$
""",
    """
CREATE OR REPLACE FUNCTION tickets_comment_search_vector_of(body text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english'::regconfig, left(coalesce(body, ''), 100000)), 'C')
$$
""",
    """
CREATE OR REPLACE FUNCTION tickets_ticket_search_vector_keep() RETURNS trigger AS $$
BEGIN
    NEW.search_vector := tickets_ticket_search_vector_of(NEW.subject, NEW.description);
    RETURN NEW;
END
$$ LANGUAGE plpgsql
""",
    """
CREATE OR REPLACE FUNCTION tickets_comment_search_vector_keep() RETURNS trigger AS $$
BEGIN
    NEW.search_vector := tickets_comment_search_vector_of(NEW.body);
    RETURN NEW;
END
$$ LANGUAGE plpgsql
""",
]


def _table(table: str, keep: str, columns: tuple[str, ...], index: str) -> list[str]:
    """The column, its triggers, the batched fill and the index of one table."""
    changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in columns)
    of = ", ".join(columns)
    return [
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS search_vector tsvector NULL",
        f"DROP TRIGGER IF EXISTS {table}_search_insert ON {table}",
        f"CREATE TRIGGER {table}_search_insert BEFORE INSERT ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {keep}()",
        f"DROP TRIGGER IF EXISTS {table}_search_update ON {table}",
        # Only when the text changes: a ticket is saved on every status or SLA change.
        f"CREATE TRIGGER {table}_search_update BEFORE UPDATE OF {of} ON {table} "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {keep}()",
        f"""
DO $$
DECLARE
    next_id bigint := 0;
    last_id bigint;
BEGIN
    SELECT max(id) INTO last_id FROM {table};
    WHILE next_id <= coalesce(last_id, -1) LOOP
        UPDATE {table} SET search_vector = {table}_search_vector_of({of})
            WHERE id >= next_id AND id < next_id + 5000 AND search_vector IS NULL;
        next_id := next_id + 5000;
        COMMIT;
    END LOOP;
END
$$
""",  # noqa: S608 - table and column names of this module, no input
        # A build that failed half-way leaves an invalid index behind: drop it, build again.
        f"""
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('{index}')
               AND NOT indisvalid) THEN
        DROP INDEX {index};
    END IF;
END
$$
""",  # noqa: S608 - an index name of this module, no input
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {table} USING gin (search_vector)",
    ]


def _drop(table: str, keep: str, index: str) -> list[str]:
    return [
        f"DROP INDEX CONCURRENTLY IF EXISTS {index}",
        f"DROP TRIGGER IF EXISTS {table}_search_update ON {table}",
        f"DROP TRIGGER IF EXISTS {table}_search_insert ON {table}",
        f"DROP FUNCTION IF EXISTS {keep}()",
        f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector",
    ]


FORWARDS = [
    *FUNCTIONS,
    *_table(
        "tickets_ticket",
        "tickets_ticket_search_vector_keep",
        ("subject", "description"),
        "ticket_search_vector_idx",
    ),
    *_table(
        "tickets_comment",
        "tickets_comment_search_vector_keep",
        ("body",),
        "comment_search_vector_idx",
    ),
]
BACKWARDS = [
    *_drop("tickets_comment", "tickets_comment_search_vector_keep", "comment_search_vector_idx"),
    *_drop("tickets_ticket", "tickets_ticket_search_vector_keep", "ticket_search_vector_idx"),
    "DROP FUNCTION IF EXISTS tickets_comment_search_vector_of(text)",
    "DROP FUNCTION IF EXISTS tickets_ticket_search_vector_of(text, text)",
]


class OnPostgreSQL(migrations.RunSQL):
    """RunSQL on PostgreSQL, nothing elsewhere; sqlmigrate (and so the squawk check of
    tests/msp/test_migration_safety.py) still shows the SQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY and the batches' own COMMITs run outside a transaction.
    atomic = False

    dependencies = [("tickets", "0027_canned_response")]

    operations = [OnPostgreSQL(FORWARDS, BACKWARDS)]
