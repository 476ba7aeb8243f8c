"""Queries compiled once per process and run with new values.

Building and compiling a queryset costs more CPU than PostgreSQL takes to answer a small
query: for an API request that writes one ticket, the few lookups every request makes
(the token, the clients the user sees, the related rows by id) were most of its time. A
`PreparedQuery` compiles its queryset once per shape and then only sends the SQL.

`build(**values)` makes a `values_list` queryset. It is compiled with stand-in values, each
found again among the compiled parameters by value and type (a value may appear more than
once); later runs put the real values in their places. It is compiled twice, with two sets of
stand-ins: anything else in the query that would not be the same on every run (an instant, a
setting read at build time) fails the preparation instead of being frozen. A None shapes the
query (IS NULL, no subquery), so there is a compiled query per set of values given as None.

PostgreSQL only: other databases take some values in another form (SQLite a date as text),
so elsewhere the queryset is built and run through the ORM every time, with the same rows.
"""

import functools
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Model
from django.db.transaction import TransactionManagementError


class _Compiled:
    def __init__(self, build, values: dict):
        compiled = []
        for variant in (0, 1):
            stand_ins = {
                name: _stand_in(index, value, variant)
                for index, (name, value) in enumerate(values.items())
            }
            compiler = build(**stand_ins).query.get_compiler(connection.alias)
            sql, params = compiler.as_sql()
            by_value = {
                (type(stand_in), stand_in): name
                for name, stand_in in stand_ins.items()
                if stand_in is not None
            }
            slots = [by_value.get((type(param), param)) for param in params]
            missing = set(by_value.values()) - set(slots)
            if missing:  # a value the query does not take as a plain parameter
                raise ValueError(f"Cannot prepare the query: {sorted(missing)} not found.")
            constants = [
                param if slot is None else None for param, slot in zip(params, slots, strict=True)
            ]
            compiled.append((sql, slots, constants))
        if compiled[0] != compiled[1]:
            raise ValueError("Cannot prepare the query: it changes between two compilations.")
        self.sql, self.slots, self.constants = compiled[0]
        # What the ORM does to the values as read (JSON decoded, secrets decrypted...).
        selected = [column[0] for column in compiler.select[: compiler.col_count]]
        self.converters = [
            (position, converters, expression)
            for position, (converters, expression) in compiler.get_converters(selected).items()
        ]

    def params(self, values: dict) -> list:
        return [
            constant if name is None else values[name]
            for name, constant in zip(self.slots, self.constants, strict=True)
        ]

    def converted(self, row: tuple) -> tuple:
        if not self.converters:
            return row
        values = list(row)
        for position, converters, expression in self.converters:
            for converter in converters:
                values[position] = converter(values[position], expression, connection)
        return tuple(values)


class PreparedQuery:
    """A `values_list` queryset made by `build(**values)`, compiled once per shape."""

    def __init__(self, build, *, locks: bool = False):
        """`locks`: the query takes row locks (select_for_update)."""
        self.build = build
        self._locks = locks
        self._compiled: dict[tuple, _Compiled] = {}

    def _prepared(self, values: dict) -> _Compiled:
        if self._locks and connection.get_autocommit():
            # As Django refuses it: outside a transaction the lock would end with the statement.
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        shape = tuple((name, value is None) for name, value in sorted(values.items()))
        compiled = self._compiled.get(shape)
        if compiled is None:
            compiled = self._compiled[shape] = _Compiled(self.build, values)
        return compiled

    def rows(self, **values) -> list[tuple]:
        if connection.vendor != "postgresql":
            return list(self.build(**values))
        compiled = self._prepared(values)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, compiled.params(values))
            return [compiled.converted(row) for row in cursor.fetchall()]

    def first(self, **values) -> tuple | None:
        """The first row, or None (the queries used this way return one row at most)."""
        rows = self.rows(**values)
        return rows[0] if rows else None


@functools.cache
def attnames(model: type[Model]) -> tuple[str, ...]:
    """The model's columns in the order of its concrete fields: with these, `from_db` builds
    an instance without looking for deferred fields."""
    return tuple(field.attname for field in model._meta.concrete_fields)


def instance(model: type[Model], values) -> Model:
    """An instance of `model` from the values of its columns (`attnames`), as read."""
    return model.from_db(connection.alias, attnames(model), values)


@functools.cache
def _by_pk(model: type[Model]) -> PreparedQuery:
    names = attnames(model)
    return PreparedQuery(lambda *, pk: model._base_manager.filter(pk=pk).values_list(*names))


def instance_by_pk(model: type[Model], pk: int) -> Model | None:
    """The row of `model` with primary key `pk` (any row: no manager's filter), or None."""
    row = _by_pk(model).first(pk=pk)
    return None if row is None else instance(model, row)


def _stand_in(index: int, value, variant: int):
    """A value of the type of `value` that no real query uses, distinct for each `index` and
    `variant` (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("No stand-in for a bool: it would equal 0 or 1.")
    if isinstance(value, int):
        return -7_300_000 - 100 * variant - index  # ids are positive
    if isinstance(value, date) and not isinstance(value, datetime):
        return date(1, 1, 1) + timedelta(days=100 * variant + index)
    if isinstance(value, str):
        return f"\x1f{variant}.{index}"  # a control character: no choice or name holds one
    raise TypeError(f"No stand-in for a {type(value).__name__}.")
