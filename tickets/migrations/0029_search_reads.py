"""Faster reads for search everywhere (tickets/search.py) at a million tickets, on PostgreSQL only.

- The GIN indexes of the search vectors (migration 0028) stop using a pending list
  (fastupdate = off) and the list they have is merged into them. With a pending list, every
  search reads the whole list (up to gin_pending_list_limit, 4 MB: some 500 pages, 4-10 ms a
  search per index) until autovacuum merges it; without, each insert or text change pays for
  its own index entries, which is cheap at the rate tickets and comments are written.
- tickets_ticket (created_at, client_id): a technician who sees some clients reads the newest
  matches of a common word through it, newest first, and skips other clients' tickets inside
  the index, without reading their rows (ticket_created_idx alone reads every row to find its
  client). Built CONCURRENTLY; like 0028's, it is not in the model (only this search uses it).

Non-atomic, and every step can run again after a failure (a lock timeout, then a retry of
`migrate`): ALTER INDEX takes a short exclusive lock on the index, under the migrate command's
lock timeout.
"""

from django.db import migrations

from tickets.migration_operations import RunSQLOnPostgres

GIN_INDEXES = ("ticket_search_vector_idx", "comment_search_vector_idx")
CREATED_CLIENT = "ticket_created_client_idx"

FORWARDS = [
    *(f"ALTER INDEX {index} SET (fastupdate = off)" for index in GIN_INDEXES),
    *(f"SELECT gin_clean_pending_list('{index}'::regclass)" for index in GIN_INDEXES),
    # A build that failed half-way leaves an invalid index behind: drop it, build again.
    f"""
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('{CREATED_CLIENT}')
               AND NOT indisvalid) THEN
        DROP INDEX {CREATED_CLIENT};
    END IF;
END
$$
""",  # noqa: S608 - an index name of this module, no input
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {CREATED_CLIENT} "
    "ON tickets_ticket (created_at, client_id)",
]
BACKWARDS = [
    f"DROP INDEX CONCURRENTLY IF EXISTS {CREATED_CLIENT}",
    *(f"ALTER INDEX {index} RESET (fastupdate)" for index in GIN_INDEXES),
]


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY runs outside a transaction.
    atomic = False

    dependencies = [("tickets", "0028_search_vectors")]

    operations = [RunSQLOnPostgres(FORWARDS, BACKWARDS)]
