"""A requester is always reachable: an email from someone not yet a contact records them as an
unverified contact of the client, and a public reply that reaches nobody is no response."""

import pytest
from django.urls import reverse

from msp.models import Contact, OutboxMessage
from sla.choices import ClockKind, ClockState
from tests.factories import ContactFactory
from tests.helpers import signed_in
from tests.tickets.emails import compose
from tickets.intake.mail import email_ingest
from tickets.models import Mailbox
from tickets.services import ticket_open, ticket_reply, ticket_resolve

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def setup(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def acme(client_a):
    client_a.email_domains = "acme.example, acme-corp.example"
    client_a.save()
    return client_a


def first_message(sender: str, name: str, message_id: str = "<CAF-new-1@mail.gmail.com>"):
    return compose(
        "gmail_reply.eml",
        FROM=sender,
        FROM_NAME=name,
        SUBJECT="Outlook keeps asking for my password",
        MESSAGE_ID=message_id,
    )


def test_an_unknown_sender_at_a_client_domain_becomes_an_unverified_requester(acme, technician):
    ticket = email_ingest(raw=first_message("nina.novak@acme.example", "Nina Novak")).ticket
    nina = ticket.contact
    assert (nina.client, nina.full_name) == (acme, "Nina Novak")
    assert nina.email == "nina.novak@acme.example"
    assert nina.unverified_from_email and nina.user is None
    assert not nina.is_seat  # not a supported user until staff say so (per-seat billing)
    # Replies reach her, and count as the first response.
    ticket_reply(ticket=ticket, author=technician, body="Which device?")
    assert OutboxMessage.objects.get().email == "nina.novak@acme.example"
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
    content = signed_in(technician).get(reverse("tickets:detail", args=[ticket.pk]))
    content = content.content.decode()
    assert "nina.novak@acme.example" in content
    assert 'data-testid="unverified-requester"' in content


def test_a_second_message_from_the_requester_reuses_the_contact(acme):
    email_ingest(raw=first_message("nina.novak@acme.example", "Nina Novak"))
    again = email_ingest(
        raw=first_message("Nina.Novak@acme.example", "Nina", message_id="<CAF-new-2@gmail.com>")
    )
    assert Contact.objects.filter(email__iexact="nina.novak@acme.example").count() == 1
    assert again.ticket.contact.full_name == "Nina Novak"


def test_the_mailbox_default_client_records_the_requester_too(client_b):
    box = Mailbox.objects.create(
        name="b", host="h", username="u", password="p", default_client=client_b
    )
    ticket = email_ingest(raw=first_message("sam@gmail.example", ""), mailbox=box).ticket
    assert (ticket.contact.client, ticket.contact.email) == (client_b, "sam@gmail.example")
    assert ticket.contact.full_name == "sam"  # no display name: the address's local part
    assert ticket.contact.unverified_from_email


@pytest.fixture(params=["no contact", "contact without email", "contact deactivated since"])
def unreachable(request, client_a):
    contact = None if request.param == "no contact" else ContactFactory(client=client_a, email="")
    if request.param == "contact deactivated since":
        contact.email = "left.the.company@acme.example"
        contact.save()
    ticket = ticket_open(client=client_a, contact=contact, subject="Phoned in: printer")
    if request.param == "contact deactivated since":
        contact.is_active = False
        contact.save()
        ticket.refresh_from_db()
    return ticket


def test_a_reply_nobody_receives_is_marked_and_sent_nowhere(unreachable, technician):
    comment = ticket_reply(ticket=unreachable, author=technician, body="We will look at it.")
    assert comment.reached_nobody
    assert not OutboxMessage.objects.exists()


def test_a_reply_nobody_receives_is_not_a_first_response(unreachable, technician):
    ticket_reply(ticket=unreachable, author=technician, body="We will look at it.")
    unreachable.refresh_from_db()
    assert unreachable.first_response_at is None
    assert unreachable.sla_clocks.get(kind=ClockKind.RESPONSE).state == ClockState.RUNNING


def test_resolving_a_ticket_nobody_can_be_written_to_concludes_its_response_clock(
    unreachable, technician
):
    ticket_resolve(ticket=unreachable, actor=technician, resolution="Disk replaced.")
    unreachable.refresh_from_db()
    assert unreachable.first_response_at == unreachable.resolved_at
    states = dict(unreachable.sla_clocks.values_list("kind", "state"))
    assert states == {ClockKind.RESPONSE: ClockState.MET, ClockKind.RESOLUTION: ClockState.MET}


def test_the_technician_is_told_nobody_received_the_reply(unreachable, technician):
    http = signed_in(technician)
    page = http.get(reverse("tickets:detail", args=[unreachable.pk])).content.decode()
    assert "no contact with an email address" in page  # said before sending
    response = http.post(
        reverse("tickets:reply", args=[unreachable.pk]), {"body": "On it"}, HTTP_HX_REQUEST="true"
    )
    assert "nobody received this reply: add a contact" in response.content.decode()


def test_the_technician_adds_a_contact_and_the_next_reply_is_the_response(unreachable, technician):
    contact = ContactFactory(client=unreachable.client, email="ops@acme.example")
    http = signed_in(technician)
    said = http.post(
        reverse("tickets:reply", args=[unreachable.pk]), {"body": "On it"}, HTTP_HX_REQUEST="true"
    )
    assert "nobody received it: add a contact" in said.content.decode()
    page = http.post(
        reverse("tickets:contact", args=[unreachable.pk]),
        {"contact": contact.pk},
        HTTP_HX_REQUEST="true",
    )
    assert page.status_code == 200 and "Contact saved." in page.content.decode()
    http.post(reverse("tickets:reply", args=[unreachable.pk]), {"body": "Fixed the printer"})
    unreachable.refresh_from_db()
    assert unreachable.contact == contact
    assert unreachable.first_response_at is not None
    assert unreachable.sla_clocks.get(kind=ClockKind.RESPONSE).state == ClockState.MET
    assert unreachable.events.filter(kind="contact", new_value=str(contact)).exists()
