"""The audit trail is append-only below Django: on PostgreSQL a trigger refuses to delete an
audit row or to change one, except for what deleting a user does to the rows that name them
(the actor link is set to null; actor_email keeps who it was). SQLite (the embedded demo)
relies on the read-only admin and views alone."""

from django.db import migrations

REFUSE = """
CREATE OR REPLACE FUNCTION audit_log_entry_refuse() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL
        AND to_jsonb(NEW) - 'actor_id' = to_jsonb(OLD) - 'actor_id'
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'The audit trail is append-only: % of % refused.', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_entry_append_only BEFORE UPDATE OR DELETE ON auditlog_logentry
    FOR EACH ROW EXECUTE FUNCTION audit_log_entry_refuse();
"""

ALLOW = """
DROP TRIGGER IF EXISTS audit_log_entry_append_only ON auditlog_logentry;
DROP FUNCTION IF EXISTS audit_log_entry_refuse();
"""


def on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)

    return run


class Migration(migrations.Migration):
    dependencies = [("auditlog", "0017_add_actor_email")]

    operations = [migrations.RunPython(on_postgresql(REFUSE), on_postgresql(ALLOW))]
