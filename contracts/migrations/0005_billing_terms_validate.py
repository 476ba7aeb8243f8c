from django.db import migrations

CHECKS = ("service_line_pricing_valid", "service_line_unused_hours_valid")


def _validate(apps, schema_editor):
    # VALIDATE CONSTRAINT takes a lock that lets writes through; SQLite checked them on adding.
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("contracts", "ServiceLine")._meta.db_table)
    for name in CHECKS:
        schema_editor.execute(
            f"ALTER TABLE {table} VALIDATE CONSTRAINT {schema_editor.quote_name(name)}"
        )


class Migration(migrations.Migration):
    dependencies = [("contracts", "0004_billing_terms")]

    operations = [migrations.RunPython(_validate, migrations.RunPython.noop)]
