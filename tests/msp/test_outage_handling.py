"""What the app does when the database fails under it, piece by piece (the whole app with a
stopped and a hung server: test_database_outage.py): outage or bug, the outbox worker that
loses the database holding a claim, the sweep that retries, the milestone's write time."""

from datetime import timedelta

import psycopg2
import pytest
from django.core import mail
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory
from django.utils import timezone

from msp import outage, services
from msp.choices import OutboxChannel, OutboxStatus
from msp.models import OutboxMessage
from msp.services import outbox_deliver, outbox_enqueue
from msp.views import server_error
from sla.models import SLAEvent
from tests.factories import ContactFactory, TicketFactory
from tests.tickets.conftest import SUNDAY_NIGHT
from tickets import tasks
from tickets.timers.sweep import sla_sweep


def _raised(exc: BaseException):
    """server_error() reads the exception being handled, as Django calls it."""
    request = RequestFactory().get("/api/v1/tickets/")
    try:
        raise exc
    except BaseException:
        return server_error(request)


def _with_cause(django_error, driver_error):
    error = django_error(str(driver_error))
    error.__cause__ = driver_error
    return error


def test_a_lost_connection_is_a_503_with_retry_after_and_a_deadlock_stays_a_500():
    unreachable = _with_cause(OperationalError, psycopg2.OperationalError("could not connect"))
    response = _raised(unreachable)
    assert response.status_code == 503
    assert response["Retry-After"] == str(outage.RETRY_AFTER_SECONDS)
    assert _raised(InterfaceError("connection already closed")).status_code == 503

    class Deadlock(psycopg2.OperationalError):
        pgcode = "40P01"

    assert _raised(_with_cause(OperationalError, Deadlock("deadlock detected"))).status_code == 500
    assert _raised(ValueError("a bug")).status_code == 500


def test_an_outage_is_logged_once_then_once_a_minute(caplog, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(outage.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(outage, "outage_log", outage._OutageLog())
    unreachable = _with_cause(OperationalError, psycopg2.OperationalError("server closed"))
    with caplog.at_level("ERROR", logger="msp.outage"):
        for _ in range(500):
            _raised(unreachable)
        clock[0] += 61
        _raised(unreachable)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("Database unreachable, answering 503: server closed")
    assert "499 more requests answered 503" in lines[1]


@pytest.fixture
def no_pauses(monkeypatch):
    monkeypatch.setattr(services.time, "sleep", lambda seconds: None)


@pytest.mark.django_db
def test_a_sent_email_is_recorded_once_the_database_answers_again(
    technician, settings, monkeypatch, no_pauses
):
    """The SMTP hand-off happened, then the database went: the worker records "sent" when it
    is back, instead of leaving the claim to expire and the email to go out twice."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = outbox_enqueue(
        key="breach:1",
        channel=OutboxChannel.EMAIL,
        subject="P1 breached",
        body="...",
        email="dispatch@msp.example",
    )
    save = OutboxMessage.save
    failures = iter([OperationalError("server closed the connection"), InterfaceError("closed")])

    def flaky_save(self, *args, **kwargs):
        error = next(failures, None)
        if error is not None:
            raise error
        return save(self, *args, **kwargs)

    monkeypatch.setattr(OutboxMessage, "save", flaky_save)
    assert outbox_deliver(message_id=message.pk) == OutboxStatus.SENT
    message.refresh_from_db()
    assert (message.status, message.attempts, len(mail.outbox)) == (OutboxStatus.SENT, 1, 1)


@pytest.mark.django_db
def test_a_worker_losing_the_database_hands_its_claim_back_at_once(
    technician, monkeypatch, no_pauses
):
    """Not five minutes later when the claim would expire: pending and due now, so the
    task's retry (or the next outbox retry) delivers it."""
    message = outbox_enqueue(
        key="note:1", channel=OutboxChannel.IN_APP, subject="s", body="b", recipient=technician
    )

    def lost(message):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(services, "_send", lost)
    with pytest.raises(InterfaceError):
        outbox_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING
    assert message.next_attempt_at <= timezone.now()
    assert timedelta(minutes=2) >= services.OUTBOX_CLAIM_TIMEOUT


def test_a_sweep_that_cannot_reach_the_database_tries_again_at_once(monkeypatch):
    calls = []

    def sweep():
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("could not connect to server")

    monkeypatch.setattr(tasks, "sla_sweep", sweep)
    tasks.sla_sweep_task.apply()
    assert len(calls) == 3


def test_no_task_runs_for_ever(settings):
    from msp.celery import app

    assert 0 < app.conf.task_soft_time_limit < app.conf.task_time_limit


@pytest.mark.django_db
def test_each_milestone_keeps_its_real_write_time_beside_its_due_instant(client_a, technician):
    TicketFactory(
        client=client_a,
        contact=ContactFactory(client=client_a),
        subject="Down",
        p1=True,
        assignee=technician,
        at=SUNDAY_NIGHT,
    )
    # The sweep acts as of a past instant (as a sweep delayed by an outage would).
    acted_as_of = SUNDAY_NIGHT + timedelta(hours=5)
    before = timezone.now()
    assert sla_sweep(now=acted_as_of).milestones > 0
    events = list(SLAEvent.objects.all())
    assert events
    for event in events:
        assert event.recorded_at == acted_as_of
        assert event.due_at <= acted_as_of
        assert before - timedelta(seconds=5) <= event.written_at <= timezone.now()
