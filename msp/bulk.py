"""Saving some fields of many rows of one model in one statement."""

from collections.abc import Sequence

from django.db import connections, router
from django.db.models import Model


def rows_update(rows: Sequence[Model], fields: Sequence[str]) -> int:
    """Save `fields` of each of `rows` (instances of one model, as they are in memory).

    On PostgreSQL: one `UPDATE ... FROM (VALUES ...)`. Django's `bulk_update` says the same
    with a CASE per field and row, which takes longer to build in Python than the database
    takes to run it (300 clock rows: about 0.3 s); it remains the way on other databases.
    Like `bulk_update`, no `auto_now` and no signals: the caller sets what it means to save.
    """
    if not rows:
        return 0
    model = type(rows[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_update(rows, fields)
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    # Each value cast to its column's type, so that NULLs and JSON need no guessing.
    row = "(" + ", ".join(f"%s::{field.db_type(connection)}" for field in columns) + ")"
    names = ", ".join(quote(field.column) for field in columns)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns[1:])
    pk = quote(meta.pk.column)
    # Only quoted model metadata goes into the text; every value is a parameter.
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608
        f"FROM (VALUES {', '.join([row] * len(rows))}) AS v ({names}) "
        f"WHERE {quote(meta.db_table)}.{pk} = v.{pk}"
    )
    params = [
        field.get_db_prep_save(getattr(instance, field.attname), connection)
        for instance in rows
        for field in columns
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
