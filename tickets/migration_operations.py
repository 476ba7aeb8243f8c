"""Migration operations that are safe on a large table while the app serves (docs/upgrades.md)
on PostgreSQL, and plain on SQLite (the embedded default, whose tables are small and which
has neither CONCURRENTLY nor NOT VALID)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations


def _postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL (in a migration with atomic = False); a plain
    index elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if _postgres(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(
            self, app_label, schema_editor, from_state, to_state
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if _postgres(schema_editor):
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(
            self, app_label, schema_editor, from_state, to_state
        )


class AddCheckNotValid(migrations.AddConstraint):
    """A check constraint that PostgreSQL adds without scanning the table (NOT VALID: new and
    changed rows are checked at once); ValidateConstraint, in a later migration, checks the
    old rows without blocking writes."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _postgres(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            sql = self.constraint.create_sql(model, schema_editor)
            schema_editor.execute(f"{sql} NOT VALID", params=None)
        return None


class ValidateConstraint(migrations.operations.base.Operation):
    """VALIDATE CONSTRAINT on PostgreSQL (a lock that lets writes through); nothing elsewhere,
    where the constraint was checked when it was added."""

    reduces_to_sql = True
    reversible = True

    def __init__(self, model_name: str, name: str):
        self.model_name = model_name
        self.name = name

    def deconstruct(self):
        return self.__class__.__qualname__, [], {"model_name": self.model_name, "name": self.name}

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if _postgres(schema_editor) and self.allow_migrate_model(
            schema_editor.connection.alias, model
        ):
            schema_editor.execute(
                f"ALTER TABLE {schema_editor.quote_name(model._meta.db_table)}"
                f" VALIDATE CONSTRAINT {schema_editor.quote_name(self.name)}",
                params=None,
            )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def describe(self):
        return f"Validate constraint {self.name} on {self.model_name}"


class RunSQLOnPostgres(migrations.RunSQL):
    """SQL only PostgreSQL has (CONCURRENTLY, GIN, tsvector, its settings); nothing elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if _postgres(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if _postgres(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)
