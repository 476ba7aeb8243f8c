"""The client portal's tickets: list, open, follow, reply, attach; and isolation for every
portal URL (another client's ticket or file is a 404; staff are sent to the workspace)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from msp.models import Contact
from tests.factories import AssetFactory
from tests.helpers import signed_in
from tickets.models import Ticket
from tickets.services import attachment_add, ticket_note, ticket_open, ticket_reply

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def setup(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def own(client_user_a, technician):
    ticket = ticket_open(client=client_user_a.client, subject="Our printer")
    ticket_reply(ticket=ticket, author=technician, body="We will come by.")
    note = ticket_note(ticket=ticket, author=technician, body="Internal: toner is in the van")
    attachment_add(
        ticket=ticket,
        upload=SimpleUploadedFile("photo.png", b"\x89PNG\r\n", content_type="image/png"),
        user=technician,
    )
    from tickets.services.files import attach  # an internal file, on the note
    from tickets.services.write import TicketWrite

    attach(
        TicketWrite(ticket, technician, ticket.created_at),
        SimpleUploadedFile("secret.txt", b"internal", content_type="text/plain"),
        note,
    )
    return ticket


@pytest.fixture
def foreign(client_b):
    ticket = ticket_open(client=client_b, subject="Their server")
    attachment_add(
        ticket=ticket,
        upload=SimpleUploadedFile("theirs.txt", b"x", content_type="text/plain"),
        user=None,
    )
    return ticket


def test_list_shows_only_our_open_tickets(client_user_a, own, foreign):
    page = signed_in(client_user_a).get(reverse("portal:ticket-list")).content.decode()
    assert "Our printer" in page and "Their server" not in page


def test_detail_hides_internal_notes_and_their_files(client_user_a, own):
    http = signed_in(client_user_a)
    page = http.get(reverse("portal:ticket-detail", args=[own.pk])).content.decode()
    assert "We will come by." in page
    assert "toner is in the van" not in page
    assert "photo.png" in page and "secret.txt" not in page
    public = own.attachments.get(filename="photo.png")
    internal = own.attachments.get(filename="secret.txt")
    assert http.get(reverse("portal:attachment", args=[own.pk, public.pk])).status_code == 200
    assert http.get(reverse("portal:attachment", args=[own.pk, internal.pk])).status_code == 404


def test_open_a_ticket_with_a_file(client_user_a):
    contact = Contact.objects.create(
        client=client_user_a.client, full_name="Me", email=client_user_a.email, user=client_user_a
    )
    asset = AssetFactory(client=client_user_a.client)
    response = signed_in(client_user_a).post(
        reverse("portal:ticket-new"),
        {
            "subject": "Laptop will not boot",
            "description": "Black screen since this morning.",
            "type": "incident",
            "impact": "low",
            "urgency": "high",
            "asset": asset.pk,
            "attachments": SimpleUploadedFile("screen.jpg", b"\xff\xd8", content_type="image/jpeg"),
        },
    )
    ticket = Ticket.objects.get(subject="Laptop will not boot")
    assert response.url == reverse("portal:ticket-detail", args=[ticket.pk])
    assert (ticket.source, ticket.contact, ticket.priority, ticket.asset) == (
        "portal",
        contact,
        "P3",
        asset,
    )
    assert ticket.attachments.get().filename == "screen.jpg"


def test_another_clients_asset_is_refused(client_user_a, client_b):
    foreign_asset = AssetFactory(client=client_b)
    response = signed_in(client_user_a).post(
        reverse("portal:ticket-new"),
        {"subject": "x", "description": "y", "type": "incident", "impact": "low",
         "urgency": "low", "asset": foreign_asset.pk},
    )  # fmt: skip
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_reply_reopens_a_resolved_ticket(client_user_a, technician, own):
    from tickets.services import ticket_resolve

    ticket_resolve(ticket=own, actor=technician, resolution="Replaced the roller.")
    http = signed_in(client_user_a)
    assert (
        "Reply and reopen"
        in http.get(reverse("portal:ticket-detail", args=[own.pk])).content.decode()
    )
    http.post(reverse("portal:ticket-detail", args=[own.pk]), {"body": "It jams again."})
    own.refresh_from_db()
    assert own.status == "in_progress"
    assert own.comments.filter(author=client_user_a, body="It jams again.").exists()


def test_empty_reply_is_a_form_error(client_user_a, own):
    response = signed_in(client_user_a).post(
        reverse("portal:ticket-detail", args=[own.pk]), {"body": ""}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("portal:ticket-detail", "get"),
        ("portal:ticket-detail", "post"),
        ("portal:attachment", "get"),
    ],
)
def test_another_clients_ticket_is_404_on_every_url(client_user_a, foreign, name, method):
    args = [foreign.pk]
    if name == "portal:attachment":
        args.append(foreign.attachments.get().pk)
    http = signed_in(client_user_a)
    response = getattr(http, method)(reverse(name, args=args), {"body": "hello"})
    assert response.status_code == 404
    assert foreign.comments.count() == 0


@pytest.mark.parametrize("name", ["portal:ticket-list", "portal:ticket-new"])
def test_staff_and_anonymous_are_kept_out(technician, client, name):
    assert signed_in(technician).get(reverse(name)).status_code == 403
    assert client.get(reverse(name)).status_code == 302  # to sign in


def test_list_query_count_is_fixed(client_user_a, django_assert_num_queries):
    for index in range(30):
        ticket_open(client=client_user_a.client, subject=f"T{index}")
    http = signed_in(client_user_a)
    with django_assert_num_queries(4):  # session, user, the user's client (time zone), the page
        http.get(reverse("portal:ticket-list"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_client_user_opens_follows_and_answers_a_ticket_in_a_browser(page, client_user_a):
    from tests.factories.msp import PASSWORD

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(client_user_a.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="SLA dashboard").click()
    assert "so far" in page.get_by_role("heading", level=1).inner_text()
    page.get_by_role("link", name="New ticket").first.click()
    form = page.get_by_test_id("portal-ticket-form")
    form.get_by_label("Subject").fill("Wi-Fi drops in the meeting room")
    form.get_by_label("Details").fill("Every ten minutes since Monday.")
    form.get_by_label("How urgent is it").select_option("high")
    page.get_by_role("button", name="Open ticket").click()
    assert "Wi-Fi drops" in page.get_by_test_id("ticket-title").inner_text()
    assert "Response" in page.get_by_test_id("portal-clocks").inner_text()
    page.get_by_label("Message").fill("It just dropped again at 10:02.")
    page.get_by_role("button", name="Send").click()
    assert "It just dropped again at 10:02." in page.get_by_test_id("conversation").inner_text()
    page.get_by_role("list", name="Main").get_by_role("link", name="Tickets").click()
    assert "Wi-Fi drops" in page.get_by_test_id("portal-tickets").inner_text()


def test_an_emailed_message_shows_its_sender_and_whether_it_was_verified(client_user_a, own):
    from tickets.services import ticket_client_message

    ticket_client_message(
        ticket=own,
        body="Sent from my phone",
        email_sender="paula.private@mail.example",
        unverified_reason="Not sent to a signed reply address.",
    )
    page = signed_in(client_user_a).get(reverse("portal:ticket-detail", args=[own.pk]))
    text = page.content.decode()
    assert "paula.private@mail.example" in text
    assert 'data-testid="unverified"' in text
