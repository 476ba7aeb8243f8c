import django.db.models.deletion
from django.db import migrations, models


def build(apps, schema_editor):
    # The business times of the clocks already stopped, by local month, made as the service
    # makes them.
    from sla.rollups import sla_rollups_rebuild

    names = (
        ("msp", "Client"),
        ("sla", "SLAClock"),
        ("sla", "ClockRollup"),
        ("sla", "MonthlyClockTimeRollup"),
    )
    sla_rollups_rebuild(models=tuple(apps.get_model(*name) for name in names), times_only=True)


class Migration(migrations.Migration):
    """Time roll-ups by local month in a new table, instead of by day: times hardly repeat, so
    a month's days held a row per clock, which percentiles summed again per value. The day
    table leaves the models but stays in the database for the code of the previous release,
    which writes it until it stops; the next release drops it (docs/upgrades.md, expand and
    contract). Clocks that code concludes meanwhile reach only the day table: run
    `manage.py sla_rollups_rebuild` once it has stopped."""

    dependencies = [
        ("msp", "0014_webhooks"),
        ("sla", "0012_sla_event_written_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="MonthlyClockTimeRollup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "month",
                    models.DateField(
                        help_text=(
                            "The first day of the month the clocks stopped in, in the client's "
                            "time zone."
                        )
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("response", "Response"),
                            ("resolution", "Resolution"),
                            ("next_update", "Next update"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "priority",
                    models.CharField(
                        choices=[
                            ("P1", "P1 - Critical"),
                            ("P2", "P2 - High"),
                            ("P3", "P3 - Medium"),
                            ("P4", "P4 - Low"),
                        ],
                        max_length=2,
                    ),
                ),
                ("spent_seconds", models.PositiveIntegerField()),
                (
                    "stopped",
                    models.IntegerField(
                        default=0, help_text="Clocks stopped with that time spent."
                    ),
                ),
                (
                    "client",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="msp.client",
                    ),
                ),
            ],
            options={
                "verbose_name": "SLA clock time roll-up by month",
                "indexes": [
                    models.Index(
                        fields=["month", "kind", "client", "spent_seconds", "priority"],
                        include=("stopped",),
                        name="monthly_clock_time_ranked_idx",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("client", "month", "kind", "priority", "spent_seconds"),
                        name="monthly_clock_time_unique_key",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("kind__in", ["response", "resolution"])),
                        name="monthly_clock_time_kind_valid",
                    ),
                ],
            },
        ),
        migrations.RunPython(build, migrations.RunPython.noop),
        # Out of the models only: the table stays for the previous release's code, without its
        # foreign key, so that clients can still be deleted (and tables flushed) around it.
        migrations.AlterField(
            model_name="clocktimerollup",
            name="client",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="msp.client",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ClockTimeRollup")]
        ),
    ]
