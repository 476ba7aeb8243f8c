import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):
    """The column first, without a default, so that the rows already there stay empty (a
    default on ADD COLUMN would stamp them all with the migration's time); then the default
    for new rows. Neither step rewrites the table."""

    dependencies = [("sla", "0011_clock_time_rollups")]

    operations = [
        migrations.AddField(
            model_name="slaevent",
            name="written_at",
            field=models.DateTimeField(
                blank=True, editable=False, help_text="When it was written.", null=True
            ),
        ),
        migrations.AlterField(
            model_name="slaevent",
            name="written_at",
            field=models.DateTimeField(
                blank=True,
                db_default=django.db.models.functions.datetime.Now(),
                editable=False,
                help_text="When it was written.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="slaevent",
            name="recorded_at",
            field=models.DateTimeField(help_text="The instant the sweep acted as of."),
        ),
    ]
