from django.db import migrations, models

from tickets.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    """A technician's timesheet: their entries of a week."""

    atomic = False
    dependencies = [("tickets", "0024_time_entry_validate")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="timeentry",
            index=models.Index(fields=["user", "spent_on"], name="time_entry_user_day_idx"),
        ),
    ]
