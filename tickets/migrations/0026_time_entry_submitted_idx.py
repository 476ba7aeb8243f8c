from django.db import migrations, models

from tickets.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    """The approval page: entries waiting for a manager."""

    atomic = False
    dependencies = [("tickets", "0025_time_entry_user_day_idx")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="timeentry",
            index=models.Index(
                condition=models.Q(("state", "submitted")),
                fields=["user", "spent_on"],
                name="time_entry_submitted_idx",
            ),
        ),
    ]
