"""Staff saw every client before teams were given clients. So that nothing changes until an
administrator narrows a team to its clients: every existing team serves all clients, and
staff who were in no team (and so would now see no client) join a team that serves all
clients."""

from django.db import migrations

TEAM_NAME = "All clients"


def serve_all_clients(apps, schema_editor):
    team_model = apps.get_model("msp", "Team")
    user_model = apps.get_model("msp", "User")
    team_model.objects.update(serves_all_clients=True)
    teamless = user_model.objects.exclude(role__in=["client", "admin"]).filter(
        teams__isnull=True, led_teams__isnull=True
    )
    if not teamless.exists():
        return
    name = TEAM_NAME
    while team_model.objects.filter(name=name).exists():
        name += "+"
    team = team_model.objects.create(name=name, serves_all_clients=True)
    team.members.add(*teamless)


class Migration(migrations.Migration):
    dependencies = [
        ("msp", "0010_team_clients"),
    ]

    operations = [
        migrations.RunPython(serve_all_clients, migrations.RunPython.noop),
    ]
