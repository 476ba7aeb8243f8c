from django.db import migrations

from tickets.migration_operations import ValidateConstraint


class Migration(migrations.Migration):
    """The old rows checked against 0021's constraints, without blocking writes."""

    dependencies = [("tickets", "0023_time_entry_approval")]

    operations = [
        ValidateConstraint(model_name="timeentry", name=name)
        for name in (
            "time_entry_state_valid",
            "time_entry_end_after_start",
            "time_entry_rejection_has_reason",
        )
    ]
