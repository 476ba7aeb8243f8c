"""Demo tickets in every state, with live SLA clocks (opened relative to now). Idempotent:
skipped when the demo tickets exist already."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from msp.models import Asset, Client, Contact, User
from tickets import services
from tickets.choices import Impact, TicketSource, TicketStatus, TicketType, Urgency
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
