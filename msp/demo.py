"""Demo directory data: clients with sites, contacts and assets, staff on every tier.

Idempotent: every row is found by its natural key and updated, so running it twice is safe.
"""

from dataclasses import dataclass

from django.db import transaction

from msp.choices import AssetKind, ClientStatus, ContactRole, Tier, UserRole
from msp.models import Asset, Client, Contact, Site, Team, User
from msp.services import contact_portal_login_grant

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 (published demo login)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str


STAFF = [
    ("admin@demo.msp", "Ada Admin", UserRole.ADMIN, ""),
    ("dispatch@demo.msp", "Dana Dispatcher", UserRole.DISPATCHER, ""),
    ("am@demo.msp", "Alex Account-Manager", UserRole.ACCOUNT_MANAGER, ""),
    ("l1@demo.msp", "Lee Level-One", UserRole.TECHNICIAN, Tier.L1),
    ("l1b@demo.msp", "Lou Level-One", UserRole.TECHNICIAN, Tier.L1),
    ("l2@demo.msp", "Kim Level-Two", UserRole.TECHNICIAN, Tier.L2),
    ("l3@demo.msp", "Sam Level-Three", UserRole.TECHNICIAN, Tier.L3),
]

TEAMS = [
    ("Service desk", Tier.L1, "l1@demo.msp", ["l1@demo.msp", "l1b@demo.msp"]),
    ("Engineering", Tier.L2, "l2@demo.msp", ["l2@demo.msp"]),
    ("Architects", Tier.L3, "l3@demo.msp", ["l3@demo.msp"]),
    ("Dispatch", "", "dispatch@demo.msp", ["dispatch@demo.msp"]),
]

CLIENTS = [
    {
        "slug": "acme",
        "name": "Acme Manufacturing",
        "timezone": "America/New_York",
        "domains": "acme.example",
        "sites": [
            ("Headquarters", "1 Industrial Way, Albany NY"),
            ("Plant 2", "40 River Rd, Troy NY"),
        ],
        "contacts": [
            ("Paula Primary", "paula@acme.example", ContactRole.PRIMARY, True),
            ("Ted Technical", "ted@acme.example", ContactRole.TECHNICAL, False),
            ("Erin Executive", "erin@acme.example", ContactRole.EXECUTIVE, False),
        ],
        "assets": [
            ("ACME-DC01", AssetKind.SERVER, "acme-dc01.acme.local", "rmm-acme-001"),
            ("ACME-FS01", AssetKind.SERVER, "acme-fs01.acme.local", "rmm-acme-002"),
            ("ACME-FW", AssetKind.FIREWALL, "fw.acme.local", "rmm-acme-003"),
            ("ACME-LT-014", AssetKind.LAPTOP, "acme-lt-014", "rmm-acme-014"),
        ],
    },
    {
        "slug": "globex",
        "name": "Globex Logistics",
        "timezone": "Europe/Berlin",
        "domains": "globex.example",
        "sites": [
            ("Berlin office", "Friedrichstr. 1, Berlin"),
            ("Hamburg depot", "Hafenweg 7, Hamburg"),
        ],
        "contacts": [
            ("Greta Primary", "greta@globex.example", ContactRole.PRIMARY, True),
            ("Bernd Billing", "bernd@globex.example", ContactRole.BILLING, False),
        ],
        "assets": [
            ("GLX-ESX01", AssetKind.SERVER, "glx-esx01", "rmm-glx-001"),
            ("GLX-SW-CORE", AssetKind.NETWORK_DEVICE, "glx-sw-core", "rmm-glx-002"),
            ("GLX-M365", AssetKind.CLOUD_SERVICE, "", ""),
        ],
    },
    {
        "slug": "initech",
        "name": "Initech Software",
        "timezone": "America/Chicago",
        "domains": "initech.example",
        "sites": [("Austin", "500 Congress Ave, Austin TX")],
        "contacts": [("Bill Lumbergh", "bill@initech.example", ContactRole.EXECUTIVE, True)],
        "assets": [
            ("INI-SQL01", AssetKind.SERVER, "ini-sql01", "rmm-ini-001"),
            ("INI-PRN-3F", AssetKind.PRINTER, "ini-prn-3f", "rmm-ini-002"),
        ],
    },
]


def _has_executive(spec: dict) -> bool:
    return any(role == ContactRole.EXECUTIVE for _, _, role, _ in spec["contacts"])


def demo_logins() -> list[DemoLogin]:
    """Every login seed_directory makes, staff first, read from the specs (no database)."""
    logins = [
        DemoLogin(email, UserRole(role).label + (f" {tier}" if tier else ""))
        for email, _, role, tier in STAFF
    ]
    for spec in CLIENTS:
        logins.extend(
            DemoLogin(email, f"Client user at {spec['name']}")
            for _, email, _, portal in spec["contacts"]
            if portal
        )
    return logins


@transaction.atomic
def seed_directory() -> list[DemoLogin]:
    users = {}
    for email, name, role, tier in STAFF:
        users[email] = _user(email=email, full_name=name, role=role, tier=tier)
    users["admin@demo.msp"].is_staff = users["admin@demo.msp"].is_superuser = True
    users["admin@demo.msp"].save(update_fields=["is_staff", "is_superuser"])
    for name, tier, lead, members in TEAMS:
        team, _ = Team.objects.update_or_create(
            name=name, defaults={"tier": tier, "lead": users[lead], "serves_all_clients": True}
        )
        team.members.set([users[email] for email in members])
    for spec in CLIENTS:
        client, _ = Client.objects.update_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "timezone": spec["timezone"],
                "email_domains": spec["domains"],
                "account_manager": users["am@demo.msp"],
                "status": ClientStatus.ACTIVE,
            },
        )
        sites = [
            Site.objects.update_or_create(client=client, name=name, defaults={"address": address})[
                0
            ]
            for name, address in spec["sites"]
        ]
        for full_name, email, role, portal in spec["contacts"]:
            contact, _ = Contact.objects.update_or_create(
                client=client,
                email=email,
                defaults={
                    "full_name": full_name,
                    "role": role,
                    "site": sites[0],
                    # Executives get the reports, or the primary contact where there is none.
                    "receives_reports": role == ContactRole.EXECUTIVE
                    or (role == ContactRole.PRIMARY and not _has_executive(spec)),
                },
            )
            if portal:
                contact_portal_login_grant(contact=contact, password=DEMO_PASSWORD)
        for index, (name, kind, hostname, rmm_id) in enumerate(spec["assets"]):
            Asset.objects.update_or_create(
                client=client,
                name=name,
                defaults={
                    "kind": kind,
                    "hostname": hostname,
                    "rmm_id": rmm_id,
                    "site": sites[index % len(sites)],
                    "serial_number": f"SN-{spec['slug'].upper()}-{index + 1:04d}",
                },
            )
    return demo_logins()


def _user(*, email: str, full_name: str, role: str, tier: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        return User.objects.create_user(
            email, DEMO_PASSWORD, full_name=full_name, role=role, tier=tier
        )
    user.full_name, user.role, user.tier = full_name, role, tier
    user.save(update_fields=["full_name", "role", "tier"])
    return user
