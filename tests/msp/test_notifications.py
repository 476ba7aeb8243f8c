import pytest
from django.urls import reverse

from msp.choices import OutboxChannel, OutboxStatus
from msp.models import Notification, OutboxMessage
from msp.services import outbox_deliver, outbox_enqueue, outbox_replay
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


def test_list_badge_and_mark_read(technician, dispatcher):
    Notification.objects.create(recipient=technician, title="Ticket #1 breached", url="/x")
    Notification.objects.create(recipient=dispatcher, title="Not yours")
    http = signed_in(technician)
    badge = http.get(reverse("workspace:notification-badge")).content.decode()
    assert 'data-testid="unread">1<' in badge
    page = http.get(reverse("workspace:notification-list")).content.decode()
    assert "Ticket #1 breached" in page and "Not yours" not in page
    http.post(reverse("workspace:notification-list"))
    assert (
        'data-testid="unread"'
        not in http.get(reverse("workspace:notification-badge")).content.decode()
    )
    assert Notification.objects.get(recipient=dispatcher).read_at is None


def test_client_users_have_no_notification_pages(client_user_a):
    http = signed_in(client_user_a)
    assert http.get(reverse("workspace:notification-list")).status_code == 403
    assert http.get(reverse("workspace:notification-badge")).status_code == 403


def test_outbox_key_makes_each_message_unique(technician, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = outbox_enqueue(
            key="k1", channel=OutboxChannel.IN_APP, subject="s", body="b", recipient=technician
        )
        again = outbox_enqueue(
            key="k1", channel=OutboxChannel.IN_APP, subject="s", body="b", recipient=technician
        )
    assert first is not None and again is None
    assert len(callbacks) == 1  # one delivery task, queued on commit


def test_replay_of_a_failed_message(technician):
    message = outbox_enqueue(
        key="k2", channel=OutboxChannel.IN_APP, subject="s", body="b", recipient=technician
    )
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxStatus.FAILED, attempts=5)
    assert outbox_replay(message_ids=[message.pk]) == 1
    assert outbox_deliver(message_id=message.pk) == OutboxStatus.SENT
    assert Notification.objects.filter(recipient=technician).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_message_send_it_once(technician, settings):
    import threading

    from django.db import connection

    from tests.tickets.failing_mail import SlowBackend

    settings.EMAIL_BACKEND = "tests.tickets.failing_mail.SlowBackend"
    SlowBackend.sent = []
    message = OutboxMessage.objects.create(
        key="race", channel=OutboxChannel.EMAIL, email="a@example.com", subject="s", body="b"
    )
    results = []

    def deliver():
        results.append(outbox_deliver(message_id=message.pk))
        connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [None, OutboxStatus.SENT]
    assert len(SlowBackend.sent) == 1


def test_a_claim_whose_worker_died_is_delivered_again(technician):
    from datetime import timedelta

    from django.utils import timezone

    from msp.services import outbox_retry_due

    message = outbox_enqueue(
        key="k3", channel=OutboxChannel.IN_APP, subject="s", body="b", recipient=technician
    )
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxStatus.SENDING, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert outbox_retry_due() == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert Notification.objects.filter(recipient=technician).count() == 1


def test_a_line_break_in_a_subject_or_header_never_blocks_the_outbox(settings):
    """A message stored with CR/LF in its subject or a header (by a user, or before subjects
    were kept on one line) still goes out, on one line, instead of failing every retry."""
    from django.core import mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = OutboxMessage.objects.create(
        key="crlf",
        channel=OutboxChannel.EMAIL,
        subject="[#7] Printer\r\nBcc: everyone@example.com",
        body="Hello",
        email="paula@acme.example",
        headers={"X-PSA-Ticket": "7\nX-Injected: yes"},
    )
    assert outbox_deliver(message_id=message.pk) == OutboxStatus.SENT
    sent = mail.outbox[-1]
    assert sent.subject == "[#7] Printer Bcc: everyone@example.com"
    assert sent.bcc == []
    assert "\nX-Injected:" not in sent.message().as_string()
    assert sent.extra_headers["X-PSA-Ticket"] == "7 X-Injected: yes"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Printer\r\nBcc: all@example.com", "Printer Bcc: all@example.com"),
        ("VPN \u2028down", "VPN  down"),
        ("Two  spaces\tand a tab", "Two  spaces\tand a tab"),
    ],
)
def test_ticket_subjects_are_stored_on_one_line(typed, stored, client_a):
    from tickets.services import ticket_open

    assert ticket_open(client=client_a, subject=typed).subject == stored
