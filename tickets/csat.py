"""Customer satisfaction: when staff resolve a ticket its contact is asked to rate the help
1-5 by clicking one of five signed links (no login), each survey answered once; a comment may
follow the rating. The figures feed the reports (reporting.metrics)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse

from msp.choices import OutboxChannel
from msp.services import outbox_enqueue
from tickets.models import SatisfactionSurvey, Ticket
from tickets.reply_address import reply_address

SALT = "tickets.csat"
RATINGS = range(1, 6)


class SurveyLinkError(Exception):
    """A satisfaction link that cannot be used; `reason` is "expired" or "invalid"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def survey_token(survey: SatisfactionSurvey) -> str:
    return signing.dumps(survey.pk, salt=SALT, compress=True)


def survey_links(survey: SatisfactionSurvey) -> dict[int, str]:
    token = survey_token(survey)
    return {
        rating: settings.SITE_URL + reverse("csat-rate", args=[token, rating]) for rating in RATINGS
    }


def survey_from_token(token: str) -> SatisfactionSurvey:
    """The survey a link is for; its signature and age are checked (the link's lifetime is
    CSAT_LINK_DAYS from sending)."""
    try:
        survey_id = signing.loads(token, salt=SALT, max_age=timedelta(days=settings.CSAT_LINK_DAYS))
    except signing.SignatureExpired:
        raise SurveyLinkError("expired") from None
    except signing.BadSignature:
        raise SurveyLinkError("invalid") from None
    survey = (
        SatisfactionSurvey.objects.select_related("ticket__client").filter(pk=survey_id).first()
    )
    if survey is None:
        raise SurveyLinkError("invalid")
    return survey


def survey_send(*, ticket: Ticket, at: datetime) -> SatisfactionSurvey | None:
    """Ask the ticket's contact about this resolution (inside the resolving transaction; the
    email leaves after commit). Nothing is sent without a contact with an address."""
    contact = ticket.contact
    if contact is None or not contact.email or not contact.is_active:
        return None
    survey, created = SatisfactionSurvey.objects.get_or_create(
        ticket=ticket,
        resolved_at=at,
        defaults={"client_id": ticket.client_id, "contact": contact, "sent_at": at},
    )
    if not created:
        return survey
    outbox_enqueue(
        key=f"csat:{survey.pk}",
        channel=OutboxChannel.EMAIL,
        email=contact.email,
        subject=f"[{ticket.number}] How did we do?",
        body=render_to_string(
            "email/satisfaction_survey.txt",
            {
                "ticket": ticket,
                "contact": contact,
                "links": survey_links(survey),
                "days": settings.CSAT_LINK_DAYS,
            },
        ),
        headers={
            "Auto-Submitted": "auto-generated",
            "X-PSA-Ticket": str(ticket.pk),
            "Reply-To": reply_address(ticket_id=ticket.pk, contact=contact),
        },
    )
    return survey


def survey_answer(*, survey: SatisfactionSurvey, rating: int, at: datetime) -> bool:
    """Record the rating; False when the survey was already answered (a link works once).
    One conditional UPDATE, so two clicks racing record exactly one answer."""
    if rating not in RATINGS:
        raise ValidationError({"rating": "Choose a rating from 1 to 5."})
    answered = SatisfactionSurvey.objects.filter(pk=survey.pk, answered_at__isnull=True).update(
        rating=rating, answered_at=at
    )
    survey.refresh_from_db()
    return bool(answered)


def survey_comment(*, survey: SatisfactionSurvey, comment: str) -> bool:
    """Add the optional comment to an answered survey, once; False when there already is one."""
    comment = comment.strip()
    if not comment:
        raise ValidationError({"comment": "Write a comment, or just close this page."})
    if len(comment) > 4000:
        raise ValidationError({"comment": "Keep the comment under 4,000 characters."})
    if survey.answered_at is None:
        raise ValidationError("Choose a rating first.")
    added = SatisfactionSurvey.objects.filter(pk=survey.pk, comment="").update(comment=comment)
    survey.refresh_from_db()
    return bool(added)
