import factory

from msp.choices import AssetKind, ContactRole, Tier, UserRole
from msp.models import Asset, Client, Contact, Site, Team, User

PASSWORD = "correct-horse-battery"


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"staff{n}@msp.example")
    full_name = factory.Sequence(lambda n: f"Staff Member {n}")
    role = UserRole.TECHNICIAN
    tier = Tier.L1
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        """Staff join a team that serves every client, as every team did before teams had
        clients (migration msp 0011), unless given their teams (`teams=[]`: none)."""
        if not create or self.role == UserRole.CLIENT:
            return
        if extracted is None:
            extracted = [every_client_team()]
        for team in extracted:
            team.members.add(self)


def every_client_team() -> Team:
    team, _ = Team.objects.get_or_create(
        name="Serves every client", defaults={"serves_all_clients": True, "tier": ""}
    )
    return team


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"Client {n}")
    slug = factory.Sequence(lambda n: f"client-{n}")
    timezone = "America/New_York"


class ClientUserFactory(StaffFactory):
    email = factory.Sequence(lambda n: f"person{n}@client.example")
    role = UserRole.CLIENT
    tier = ""
    client = factory.SubFactory(ClientFactory)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    tier = Tier.L1


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    client = factory.SubFactory(ClientFactory)
    name = factory.Sequence(lambda n: f"Site {n}")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    client = factory.SubFactory(ClientFactory)
    full_name = factory.Sequence(lambda n: f"Contact {n}")
    email = factory.Sequence(lambda n: f"contact{n}@client.example")
    role = ContactRole.TECHNICAL


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset

    client = factory.SubFactory(ClientFactory)
    name = factory.Sequence(lambda n: f"ASSET-{n:04d}")
    kind = AssetKind.SERVER
    hostname = factory.Sequence(lambda n: f"host{n}")
    rmm_id = factory.Sequence(lambda n: f"rmm-{n}")
