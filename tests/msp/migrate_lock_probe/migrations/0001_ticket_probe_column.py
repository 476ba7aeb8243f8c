from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tickets", "__latest__")]

    operations = [
        migrations.RunSQL(
            'ALTER TABLE "tickets_ticket" ADD COLUMN "lock_probe" integer NULL',
            reverse_sql='ALTER TABLE "tickets_ticket" DROP COLUMN "lock_probe"',
        )
    ]
