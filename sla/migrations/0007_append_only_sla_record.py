"""The SLA record is append-only below Django (SPEC section 11): on PostgreSQL, triggers refuse
to delete SLA events, timeline events and SLA clocks, to change an SLA event or a timeline
event at all, and to change what identifies a clock or a breach once it is recorded. SQLite
(the embedded demo) relies on the services and the read-only admin alone."""

from django.db import migrations

REFUSE = """
CREATE OR REPLACE FUNCTION sla_record_refuse() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The SLA record is append-only: % of % refused.', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION sla_clock_refuse_rewrite() RETURNS trigger AS $$
BEGIN
    IF NEW.ticket_id IS DISTINCT FROM OLD.ticket_id
        OR NEW.client_id IS DISTINCT FROM OLD.client_id
        OR NEW.kind IS DISTINCT FROM OLD.kind
        OR NEW.cycle IS DISTINCT FROM OLD.cycle
        OR NEW.started_at IS DISTINCT FROM OLD.started_at
        OR (OLD.breached_at IS NOT NULL AND NEW.breached_at IS DISTINCT FROM OLD.breached_at)
        OR (OLD.state IN ('breached', 'superseded') AND NEW.state IS DISTINCT FROM OLD.state)
    THEN
        RAISE EXCEPTION 'The SLA record is append-only: clock % may not be rewritten.', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER sla_event_append_only BEFORE UPDATE OR DELETE ON sla_slaevent
    FOR EACH ROW EXECUTE FUNCTION sla_record_refuse();
CREATE TRIGGER timeline_event_append_only BEFORE UPDATE OR DELETE ON tickets_timelineevent
    FOR EACH ROW EXECUTE FUNCTION sla_record_refuse();
CREATE TRIGGER sla_clock_no_delete BEFORE DELETE ON sla_slaclock
    FOR EACH ROW EXECUTE FUNCTION sla_record_refuse();
CREATE TRIGGER sla_clock_no_rewrite BEFORE UPDATE ON sla_slaclock
    FOR EACH ROW EXECUTE FUNCTION sla_clock_refuse_rewrite();
"""

ALLOW = """
DROP TRIGGER IF EXISTS sla_clock_no_rewrite ON sla_slaclock;
DROP TRIGGER IF EXISTS sla_clock_no_delete ON sla_slaclock;
DROP TRIGGER IF EXISTS timeline_event_append_only ON tickets_timelineevent;
DROP TRIGGER IF EXISTS sla_event_append_only ON sla_slaevent;
DROP FUNCTION IF EXISTS sla_clock_refuse_rewrite();
DROP FUNCTION IF EXISTS sla_record_refuse();
"""


def on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0006_clock_state_superseded"),
        ("tickets", "0011_alert_open_per_client"),
    ]

    operations = [migrations.RunPython(on_postgresql(REFUSE), on_postgresql(ALLOW))]
