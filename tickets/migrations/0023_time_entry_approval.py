import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from tickets.migration_operations import AddCheckNotValid


class Migration(migrations.Migration):
    """Time entries get their approval state and start/end; the running timer. Entries logged
    before approval existed are approved (the database default while the column is added),
    and new ones start as drafts."""

    dependencies = [
        ("tickets", "0022_queue_sort_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="timeentry",
            name="state",
            field=models.CharField(
                choices=[
                    ("draft", "Draft"),
                    ("submitted", "Submitted"),
                    ("approved", "Approved"),
                    ("rejected", "Rejected"),
                ],
                db_default="approved",
                default="draft",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="timeentry",
            name="state",
            field=models.CharField(
                choices=[
                    ("draft", "Draft"),
                    ("submitted", "Submitted"),
                    ("approved", "Approved"),
                    ("rejected", "Rejected"),
                ],
                db_default="draft",
                default="draft",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="timeentry",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="timeentry",
            name="ended_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="timeentry",
            name="submitted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="timeentry",
            name="decided_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="timeentry",
            name="decided_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="timeentry",
            name="rejection_reason",
            field=models.CharField(blank=True, db_default="", max_length=500),
        ),
        AddCheckNotValid(
            model_name="timeentry",
            constraint=models.CheckConstraint(
                condition=models.Q(("state__in", ["draft", "submitted", "approved", "rejected"])),
                name="time_entry_state_valid",
            ),
        ),
        AddCheckNotValid(
            model_name="timeentry",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("ended_at__isnull", True), ("started_at__isnull", True)),
                    models.Q(
                        ("ended_at__gt", models.F("started_at")), ("started_at__isnull", False)
                    ),
                    _connector="OR",
                ),
                name="time_entry_end_after_start",
            ),
        ),
        AddCheckNotValid(
            model_name="timeentry",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("state", "rejected"), _negated=True),
                    models.Q(("rejection_reason", ""), _negated=True),
                    _connector="OR",
                ),
                name="time_entry_rejection_has_reason",
            ),
        ),
        migrations.CreateModel(
            name="RunningTimer",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("started_at", models.DateTimeField()),
                (
                    "ticket",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="running_timers",
                        to="tickets.ticket",
                    ),
                ),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="running_timer",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
