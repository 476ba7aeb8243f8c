"""Satisfaction surveys: sent on resolution, answered once by one click, a comment after."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client as HttpClient

from msp.models import OutboxMessage
from msp.services import outbox_deliver
from tests.factories import ContactFactory
from tickets import services
from tickets.models import SatisfactionSurvey
from tickets.reply_address import reply_address

pytestmark = pytest.mark.django_db
RESOLVED = datetime(2026, 11, 2, 15, tzinfo=UTC)


@pytest.fixture
def resolved(client_a, technician, policy):
    contact = ContactFactory(client=client_a, email="paula@acme.example")
    ticket = services.ticket_open(
        client=client_a, contact=contact, subject="Printer", at=RESOLVED - timedelta(hours=2)
    )
    services.ticket_resolve(ticket=ticket, actor=technician, resolution="Toner", at=RESOLVED)
    return ticket


def survey_email():
    message = OutboxMessage.objects.get(key__startswith="csat:")
    outbox_deliver(message_id=message.pk)
    return mail.outbox[-1]


def links(email) -> dict[int, str]:
    found = re.findall(r"(\d) - [^:]+:\s+http://[^/]+(/csat/\S+)", email.body)
    return {int(rating): path for rating, path in found}


def test_resolution_emails_the_contact_five_one_click_links(resolved):
    email = survey_email()
    assert email.to == ["paula@acme.example"]
    assert email.subject == f"[{resolved.number}] How did we do?"
    # Answering the email itself threads back as the contact, verified.
    assert email.extra_headers["Reply-To"] == reply_address(
        ticket_id=resolved.pk, contact=resolved.contact
    )
    assert sorted(links(email)) == [1, 2, 3, 4, 5]
    survey = SatisfactionSurvey.objects.get(ticket=resolved)
    assert (survey.sent_at, survey.rating) == (RESOLVED, None)


def test_one_click_records_the_rating_and_a_comment_may_follow(resolved):
    page = HttpClient().get(links(survey_email())[4])
    assert page.status_code == 200
    assert "you rated 4 out of 5" in page.content.decode()
    survey = SatisfactionSurvey.objects.get(ticket=resolved)
    assert survey.rating == 4 and survey.answered_at is not None
    token = page.context["token"]
    comment = HttpClient().post(f"/csat/{token}/comment/", {"comment": "Quick, thanks"})
    assert comment.status_code == 200
    survey.refresh_from_db()
    assert survey.comment == "Quick, thanks"
    again = HttpClient().post(f"/csat/{token}/comment/", {"comment": "Changed my mind"})
    assert again.status_code == 409
    survey.refresh_from_db()
    assert survey.comment == "Quick, thanks"


def test_a_link_works_once(resolved):
    paths = links(survey_email())
    HttpClient().get(paths[5])
    second = HttpClient().get(paths[1])
    assert second.status_code == 409
    assert "You have already answered" in second.content.decode()
    assert SatisfactionSurvey.objects.get(ticket=resolved).rating == 5


def test_an_expired_link_says_so_and_records_nothing(resolved):
    path = links(survey_email())[3]
    with time_machine.travel(datetime.now(UTC) + timedelta(days=31)):
        page = HttpClient().get(path)
    assert page.status_code == 410
    assert "This link has expired" in page.content.decode()
    assert SatisfactionSurvey.objects.get(ticket=resolved).rating is None


@pytest.mark.parametrize("mangle", [lambda p: p.replace("/csat/", "/csat/x"), lambda p: p[:-3]])
def test_a_tampered_link_is_refused(resolved, mangle):
    path = links(survey_email())[5]
    page = HttpClient().get(mangle(path) if mangle(path).endswith("/") else mangle(path) + "/")
    assert page.status_code == 404
    assert SatisfactionSurvey.objects.get(ticket=resolved).rating is None


def test_out_of_range_rating_and_empty_comment(resolved):
    path = links(survey_email())[5]
    assert HttpClient().get(path.replace("/5/", "/9/")).status_code == 404
    token = path.split("/")[2]
    page = HttpClient().post(f"/csat/{token}/comment/", {"comment": "  "})
    assert page.status_code == 400
    assert SatisfactionSurvey.objects.get(ticket=resolved).rating is None


def test_no_survey_without_a_contact_address_and_one_per_resolution(client_a, technician, resolved):
    bare = services.ticket_open(client=client_a, subject="Alert", at=RESOLVED)
    services.ticket_resolve(ticket=bare, actor=technician, resolution="Cleared", at=RESOLVED)
    assert not SatisfactionSurvey.objects.filter(ticket=bare).exists()
    later = RESOLVED + timedelta(days=1)
    services.ticket_reopen(ticket=resolved, actor=technician, reason="Again", at=later)
    services.ticket_resolve(
        ticket=resolved, actor=technician, resolution="Roller", at=later + timedelta(hours=1)
    )
    assert SatisfactionSurvey.objects.filter(ticket=resolved).count() == 2
