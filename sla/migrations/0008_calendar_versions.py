"""Calendars are versioned (SPEC section 11): every calendar gets its current rules as its first
version, in force from the beginning of time. On PostgreSQL a trigger refuses to change or
delete a version; SQLite (the embedded demo) relies on the services and the admin.

Numbered 0006 as planned, it runs after 0007 (which took the next number first)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import msp.validators

REFUSE = """
CREATE OR REPLACE FUNCTION sla_calendar_version_refuse() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Calendar versions are never changed: % of version % refused.',
        TG_OP, OLD.id USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER calendar_version_append_only BEFORE UPDATE OR DELETE ON sla_calendarversion
    FOR EACH ROW EXECUTE FUNCTION sla_calendar_version_refuse();
"""

ALLOW = """
DROP TRIGGER IF EXISTS calendar_version_append_only ON sla_calendarversion;
DROP FUNCTION IF EXISTS sla_calendar_version_refuse();
"""


def on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)

    return run


def first_versions(apps, schema_editor):
    calendars = apps.get_model("sla", "BusinessCalendar")
    versions = apps.get_model("sla", "CalendarVersion")
    for calendar in calendars.objects.prefetch_related("intervals", "holidays"):
        week = sorted(
            [
                interval.weekday,
                interval.start_time.hour * 60 + interval.start_time.minute,
                interval.end_time.hour * 60 + interval.end_time.minute or 1440,
            ]
            for interval in calendar.intervals.all()
        )
        versions.objects.create(
            calendar=calendar,
            effective_from=None,
            timezone=calendar.timezone,
            is_24x7=calendar.is_24x7,
            week=week,
            holidays=sorted(holiday.date.isoformat() for holiday in calendar.holidays.all()),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0007_append_only_sla_record"),
    ]

    operations = [
        migrations.CreateModel(
            name="CalendarVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "effective_from",
                    models.DateTimeField(
                        blank=True,
                        help_text="Blank for the calendar's first rules: in force from the "
                        "beginning of time.",
                        null=True,
                    ),
                ),
                (
                    "recorded_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                (
                    "timezone",
                    models.CharField(
                        max_length=64,
                        validators=[msp.validators.validate_timezone_name],
                        verbose_name="time zone",
                    ),
                ),
                ("is_24x7", models.BooleanField(default=False, verbose_name="24x7")),
                (
                    "week",
                    models.JSONField(
                        default=list, help_text="[weekday, start minute, end minute] rows."
                    ),
                ),
                (
                    "holidays",
                    models.JSONField(default=list, help_text="Holiday dates, YYYY-MM-DD."),
                ),
                (
                    "calendar",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="versions",
                        to="sla.businesscalendar",
                    ),
                ),
            ],
            options={
                "ordering": [
                    models.OrderBy(models.F("effective_from"), nulls_first=True),
                    "pk",
                ],
                "get_latest_by": "pk",
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("effective_from__isnull", True)),
                        fields=("calendar",),
                        name="calendar_version_one_first",
                    ),
                    models.UniqueConstraint(
                        fields=("calendar", "effective_from"),
                        name="calendar_version_unique_instant",
                    ),
                ],
            },
        ),
        migrations.RunPython(first_versions, migrations.RunPython.noop),
        migrations.RunPython(on_postgresql(REFUSE), on_postgresql(ALLOW)),
    ]
