import django.db.models.deletion
import django.db.models.functions.comparison
from django.db import migrations, models


def build(apps, schema_editor):
    # The clocks already concluded, by local month, counted as the service counts them.
    from sla.rollups import sla_rollups_rebuild

    names = (("msp", "Client"), ("sla", "SLAClock"), ("sla", "MonthlyClockRollup"))
    sla_rollups_rebuild(models=(*(apps.get_model(*name) for name in names), None))


class Migration(migrations.Migration):
    """Compliance roll-ups by local month in a new table, instead of by day: periods are whole
    months, whose days were thirty rows to sum per client, clock, priority and contract. As
    0013 did for the times: the day table leaves the models but stays in the database for the
    previous release's code until the next release drops it; run `manage.py
    sla_rollups_rebuild` once that code has stopped."""

    dependencies = [
        ("contracts", "0003_credits_evaluations_exemptions"),
        ("msp", "0014_webhooks"),
        ("sla", "0013_monthly_clock_time_rollups"),
    ]

    operations = [
        migrations.CreateModel(
            name="MonthlyClockRollup",
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
                        help_text="The first day of the month, in the client's time zone."
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
                ("met", models.IntegerField(default=0)),
                ("breached", models.IntegerField(default=0, help_text="Breaches not exempted.")),
                (
                    "exempted",
                    models.IntegerField(
                        default=0, help_text="Breaches exempted (and not revoked)."
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
                (
                    "contract",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="contracts.contract",
                    ),
                ),
            ],
            options={
                "verbose_name": "SLA clock roll-up by month",
                "indexes": [
                    models.Index(
                        fields=["month", "client"],
                        include=("kind", "priority", "contract", "met", "breached", "exempted"),
                        name="monthly_clock_rollup_idx",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        models.F("client"),
                        models.F("month"),
                        models.F("kind"),
                        models.F("priority"),
                        django.db.models.functions.comparison.Coalesce(models.F("contract"), 0),
                        name="monthly_clock_rollup_unique_key",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("kind__in", ["response", "resolution"])),
                        name="monthly_clock_rollup_kind_valid",
                    ),
                ],
            },
        ),
        migrations.RunPython(build, migrations.RunPython.noop),
        # Out of the models only: the table stays for the previous release's code, without its
        # foreign keys, so that clients and contracts can still be deleted (and tables flushed).
        migrations.AlterField(
            model_name="clockrollup",
            name="client",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="msp.client",
            ),
        ),
        migrations.AlterField(
            model_name="clockrollup",
            name="contract",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contracts.contract",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ClockRollup")]
        ),
    ]
