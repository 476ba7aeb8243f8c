"""Demo tickets in every state, with live SLA clocks (opened relative to now). Idempotent:
skipped when the demo tickets exist already."""

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from msp.models import Asset, Client, Contact, User
from msp.periods import add_months
from tickets import services
from tickets.choices import Impact, TicketSource, TicketStatus, TicketType, Urgency
from tickets.csat import survey_answer
from tickets.models import Ticket

MARKER = "[demo]"


def pw_followup(client, contact, open_ticket):
    return open_ticket(client, contact, "Second monitor flickers", 45, Impact.LOW, Urgency.MEDIUM)


def _staff(email: str) -> User:
    return User.objects.get(email=email)


@transaction.atomic
def seed_tickets() -> int:
    if Ticket.objects.filter(description__startswith=MARKER).exists():
        return 0
    now = timezone.now()
    acme, globex, initech = (
        Client.objects.get(slug=slug) for slug in ("acme", "globex", "initech")
    )
    paula = Contact.objects.get(email="paula@acme.example")
    greta = Contact.objects.get(email="greta@globex.example")
    bill = Contact.objects.get(email="bill@initech.example")
    l1, l2 = _staff("l1@demo.msp"), _staff("l2@demo.msp")
    paula_login = paula.user

    def open_ticket(client, contact, subject, minutes_ago, impact, urgency, **extra):
        return services.ticket_open(
            client=client,
            contact=contact,
            subject=subject,
            description=f"{MARKER} {subject}.",
            impact=impact,
            urgency=urgency,
            created_by=l1,
            at=now - timedelta(minutes=minutes_ago),
            **extra,
        )

    def at(minutes_ago):
        return now - timedelta(minutes=minutes_ago)

    # New and unanswered: a critical outage minutes ago (P1, round the clock).
    open_ticket(
        acme,
        paula,
        "File server ACME-FS01 unreachable",
        5,
        Impact.HIGH,
        Urgency.HIGH,
        asset=Asset.objects.get(name="ACME-FS01"),
        source=TicketSource.ALERT,
    )
    # New, unassigned, ordinary.
    open_ticket(
        globex,
        greta,
        "New starter needs a laptop",
        30,
        Impact.LOW,
        Urgency.LOW,
        type=TicketType.SERVICE_REQUEST,
        source=TicketSource.PORTAL,
    )
    # In progress with a reply.
    vpn = open_ticket(
        initech,
        bill,
        "VPN drops every hour",
        90,
        Impact.MEDIUM,
        Urgency.HIGH,
        assignee=l1,
        source=TicketSource.EMAIL,
    )
    services.ticket_reply(
        ticket=vpn, author=l1, body="Collecting logs from the firewall now.", at=at(80)
    )
    # Waiting on the client: resolution clock paused.
    printer = open_ticket(
        acme,
        paula,
        "Printer on floor 3 prints blank pages",
        240,
        Impact.LOW,
        Urgency.MEDIUM,
        assignee=l1,
    )
    services.ticket_reply(
        ticket=printer, author=l1, body="Could you send a photo of the test page?", at=at(200)
    )
    services.ticket_change_status(
        ticket=printer, actor=l1, status=TicketStatus.WAITING_ON_CLIENT, at=at(199)
    )
    # Escalated to L2.
    mail = open_ticket(
        globex,
        greta,
        "Shared mailbox not syncing on mobiles",
        180,
        Impact.MEDIUM,
        Urgency.MEDIUM,
        assignee=l1,
    )
    services.ticket_acknowledge(ticket=mail, actor=l1, at=at(170))
    services.time_entry_log(
        ticket=mail, user=l1, minutes=25, note="Checked ActiveSync logs", at=at(120)
    )
    services.ticket_escalate(
        ticket=mail, actor=l1, reason="Exchange policy change needed", at=at(110)
    )
    services.ticket_assign(ticket=mail, actor=l2, assignee=l2, at=at(100))
    # Breached: a P2 left too long.
    open_ticket(initech, bill, "Accounting app very slow", 3 * 24 * 60, Impact.HIGH, Urgency.MEDIUM)
    # Resolved, and closed.
    pw = open_ticket(acme, paula, "Password reset for the CFO", 26 * 60, Impact.LOW, Urgency.HIGH)
    services.ticket_reply(ticket=pw, author=l1, body="Reset done; please log in.", at=at(25 * 60))
    services.ticket_resolve(
        ticket=pw, actor=l1, resolution="Password reset and MFA re-registered.", at=at(24 * 60)
    )
    old = open_ticket(
        globex, greta, "Add user to the Finance group", 5 * 24 * 60, Impact.LOW, Urgency.LOW
    )
    services.ticket_resolve(ticket=old, actor=l1, resolution="Added.", at=at(4 * 24 * 60))
    services.ticket_close(ticket=old, actor=l1, at=at(2 * 24 * 60))
    # A client message through the portal on an open ticket.
    if paula_login is not None:
        services.ticket_client_message(
            ticket=pw_followup(acme, paula, open_ticket),
            author=paula_login,
            body="It happens again on the second screen too.",
            at=at(10),
        )
    return Ticket.objects.filter(description__startswith=MARKER).count()


HISTORY_MARKER = "[demo history]"
HISTORY_MONTHS = 6
# The category of each history ticket, in HISTORY_TICKETS order.
HISTORY_CATEGORIES = [
    "Servers", "Network", "Email", "Onboarding", "Printing", "Storage", "Backup", "Storage",
    "Software", "Network",
]  # fmt: skip
# Per month and client: (subject, impact, urgency, source, type).
HISTORY_TICKETS = [
    ("Server unreachable", Impact.HIGH, Urgency.HIGH, TicketSource.ALERT, TicketType.INCIDENT),
    ("VPN drops every hour", Impact.MEDIUM, Urgency.HIGH, TicketSource.EMAIL, TicketType.INCIDENT),
    ("Outlook keeps asking for a password", Impact.LOW, Urgency.HIGH, TicketSource.PHONE,
     TicketType.INCIDENT),
    ("New starter laptop", Impact.LOW, Urgency.MEDIUM, TicketSource.PORTAL,
     TicketType.SERVICE_REQUEST),
    ("Printer jams on tray 2", Impact.LOW, Urgency.MEDIUM, TicketSource.EMAIL, TicketType.INCIDENT),
    ("Shared drive quota", Impact.MEDIUM, Urgency.LOW, TicketSource.PORTAL,
     TicketType.SERVICE_REQUEST),
    ("Backup job failed", Impact.MEDIUM, Urgency.MEDIUM, TicketSource.ALERT, TicketType.INCIDENT),
    ("Disk space low on file server", Impact.MEDIUM, Urgency.MEDIUM, TicketSource.ALERT,
     TicketType.INCIDENT),
    ("Install Visio", Impact.LOW, Urgency.LOW, TicketSource.PORTAL, TicketType.SERVICE_REQUEST),
    ("Wi-Fi slow in the meeting room", Impact.MEDIUM, Urgency.LOW, TicketSource.PHONE,
     TicketType.INCIDENT),
]  # fmt: skip


def _answer_surveys(ticket: Ticket, rng: random.Random, *, late: bool) -> None:
    """Three contacts in four answer, a few hours after the resolution; late tickets score low."""
    for survey in ticket.surveys.filter(answered_at__isnull=True):
        if rng.random() < 0.75:
            rating = rng.choice([2, 3]) if late else rng.choice([4, 5, 5, 5, 3])
            survey_answer(
                survey=survey,
                rating=rating,
                at=survey.sent_at + timedelta(hours=rng.randrange(1, 9)),
            )


@transaction.atomic
def seed_history(*, now=None) -> int:
    """Six finished months of worked tickets per demo client, so that contract evaluations,
    monthly reports and a full quarter's QBR have real figures. Deterministic. Acme answers one
    P1 late in each of the last three months (its ladder climbs); Initech resolves one P2 late
    in the last month; Globex meets everything. Most contacts answer the satisfaction survey."""
    if Ticket.objects.filter(description__startswith=HISTORY_MARKER).exists():
        return 0
    now = now or timezone.now()
    l1, l2 = _staff("l1@demo.msp"), _staff("l2@demo.msp")
    created = 0
    for slug in ("acme", "globex", "initech"):
        client = Client.objects.get(slug=slug)
        zone = ZoneInfo(client.timezone)
        contact = Contact.objects.filter(client=client).order_by("pk").first()
        assets = list(Asset.objects.filter(client=client).order_by("pk"))
        this_month = now.astimezone(zone).date().replace(day=1)
        for back in range(HISTORY_MONTHS, 0, -1):
            month = add_months(this_month, -back)
            rng = random.Random(f"{slug}-{month}")  # noqa: S311 - demo data, not security
            last_month = back == 1
            # Ten kinds of ticket every month, and up to four more of them in busier months.
            for number in range(len(HISTORY_TICKETS) + rng.randrange(5)):
                index = number % len(HISTORY_TICKETS)
                subject, impact, urgency, source, kind = HISTORY_TICKETS[index]
                day = month.replace(day=2 + (number * 2) % 26)
                # Weekday mornings, local time: business calendars are open.
                while day.weekday() >= 5:
                    day += timedelta(days=1)
                opened = datetime.combine(day, time(9 + rng.randrange(4), rng.randrange(60)), zone)
                ticket = services.ticket_open(
                    client=client,
                    contact=contact,
                    asset=assets[index % len(assets)] if assets and index % 3 == 0 else None,
                    subject=subject,
                    description=f"{HISTORY_MARKER} {subject}.",
                    impact=impact,
                    urgency=urgency,
                    source=source,
                    type=kind,
                    category=HISTORY_CATEGORIES[index],
                    created_by=l1,
                    at=opened,
                )
                late_response = slug == "acme" and number == 0 and back <= 3
                answer = opened + timedelta(minutes=40 if late_response else 5 + rng.randrange(8))
                if index in (3, 5, 8):  # simple requests: acknowledged, then fixed in one reply
                    services.ticket_acknowledge(ticket=ticket, actor=l1, at=answer)
                else:
                    services.ticket_reply(
                        ticket=ticket, author=l1, body="We are looking into it.", at=answer
                    )
                services.time_entry_log(
                    ticket=ticket,
                    user=l1,
                    minutes=15 * (1 + rng.randrange(6)),
                    spent_on=day,
                    at=answer,
                )
                late_resolution = slug == "initech" and last_month and number == 1
                hours = 48 if late_resolution else 1 + rng.randrange(3)
                resolved = answer + timedelta(hours=hours)
                if index == 4:  # escalated to L2 before the fix
                    services.ticket_escalate(
                        ticket=ticket, actor=l1, reason="Needs hardware", at=answer
                    )
                services.ticket_resolve(
                    ticket=ticket, actor=l2 if index == 4 else l1, resolution="Fixed.", at=resolved
                )
                if index == 2:  # came back the next day
                    services.ticket_reopen(
                        ticket=ticket,
                        actor=l1,
                        reason="Client says it happens again.",
                        at=resolved + timedelta(days=1),
                    )
                    resolved += timedelta(days=1, hours=2)
                    services.ticket_resolve(
                        ticket=ticket, actor=l1, resolution="Profile rebuilt.", at=resolved
                    )
                _answer_surveys(ticket, rng, late=late_response or late_resolution)
                services.ticket_close(ticket=ticket, actor=None, at=resolved + timedelta(days=3))
                created += 1
    return created
