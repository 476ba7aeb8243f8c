"""Logs an operator can follow: JSON lines in production carrying the request id (also the
X-Request-ID header and the audit rows' correlation id), user, client and ticket; the same id
on the lines of a Celery task the request queued; no password, token or message body."""

import io
import json
import logging
import re
import time
from contextlib import contextmanager
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse

from msp.logging import JsonFormatter, LogContextFilter
from msp.services import api_token_create
from tests.factories import ClientUserFactory, ContactFactory, ContractFactory
from tests.msp.test_settings import PRODUCTION_ENV, run_manage
from tests.msp.test_tasks import worker_and_beat
from tickets.choices import InboundStatus
from tickets.intake.mail import email_ingest
from tickets.intake.mailboxes import mailbox_poll
from tickets.models import Mailbox
from tickets.services import ticket_open

WELL_FORMED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_lines():
    """Every record logged during the test, as production writes it (the JSON formatter and
    the context filter of LOGGING), at every level, request lines included."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(LogContextFilter())
    root, requests = logging.getLogger(), logging.getLogger("msp.request")
    levels = root.level, requests.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    requests.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(levels[0])
    requests.setLevel(levels[1])


def _absent(secret: str, lines: list[dict]) -> None:
    assert lines, "nothing was logged: the test proves nothing"
    for line in lines:
        assert secret not in json.dumps(line, ensure_ascii=False), line


@pytest.mark.django_db
class TestRequestId:
    def test_each_response_names_its_request_and_the_audit_rows_share_it(
        self, client, account_manager, json_lines
    ):
        contract = ContractFactory(monthly_fee=Decimal("1000.00"))
        _, secret = api_token_create(user=account_manager, name="billing sync", scope="write")
        response = client.patch(
            f"/api/v1/contracts/{contract.pk}/",
            {"monthly_fee": "1250.00"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
        assert response.status_code == 200, response.content
        request_id = response.headers["X-Request-ID"]
        assert WELL_FORMED.fullmatch(request_id)
        (row,) = LogEntry.objects.filter(cid=request_id)
        assert row.actor == account_manager
        (line,) = [line for line in json_lines() if line["logger"] == "msp.request"]
        assert (line["request_id"], line["user_id"]) == (request_id, account_manager.pk)
        _absent(secret, json_lines())
        assert client.get("/healthz").headers["X-Request-ID"] != request_id

    def test_a_proxys_id_is_taken_only_when_trusted_and_well_formed(self, client, settings):
        given = "0af7651916cd43dd8448eb211c80319c"
        assert client.get("/healthz", HTTP_X_REQUEST_ID=given).headers["X-Request-ID"] != given
        settings.LOG_TRUST_REQUEST_ID = True
        assert client.get("/healthz", HTTP_X_REQUEST_ID=given).headers["X-Request-ID"] == given
        for forged in ("short", "x" * 65, 'abc" level="ERROR', "abcdefgh\nforged line"):
            answered = client.get("/healthz", HTTP_X_REQUEST_ID=forged).headers["X-Request-ID"]
            assert answered != forged and WELL_FORMED.fullmatch(answered)


@pytest.mark.django_db
def test_a_request_line_carries_request_user_client_and_ticket(client, client_a, json_lines):
    user = ClientUserFactory(client=client_a)
    ticket = ticket_open(client=client_a, subject="VPN down", created_by=user)
    client.force_login(user)
    response = client.get(reverse("portal:ticket-detail", args=[ticket.pk]) + "?q=mine")
    assert response.status_code == 200
    (line,) = [line for line in json_lines() if line["logger"] == "msp.request"]
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert (line["user_id"], line["client_id"], line["ticket_id"]) == (
        user.pk,
        client_a.pk,
        ticket.pk,
    )
    assert (line["method"], line["path"], line["status"]) == (
        "GET",
        f"/portal/tickets/{ticket.pk}/",
        200,
    )
    assert line["level"] == "INFO" and line["time"].endswith("+00:00")
    assert isinstance(line["duration_ms"], float)


class TestNoSecretsOrBodies:
    @pytest.mark.django_db
    def test_a_failed_sign_in_and_a_bad_api_token(self, client, technician, json_lines):
        client.post(reverse("login"), {"username": technician.email, "password": "Wr0ng-Pa55!"})
        client.get("/api/v1/tickets/", HTTP_AUTHORIZATION="Bearer msp_NotAValidTokenSecret9")
        _absent("Wr0ng-Pa55!", json_lines())
        _absent("NotAValidTokenSecret9", json_lines())

    @pytest.mark.django_db
    def test_a_password_reset_and_its_link(self, client, technician, json_lines):
        client.post(reverse("password_reset"), {"email": technician.email})
        (link,) = re.findall(r"https?://\S+/accounts/reset/\S+", mail.outbox[0].body)
        uid, token = link.rstrip("/").split("/")[-2:]
        response = client.get(reverse("password_reset_confirm", args=[uid, token]))
        assert response.status_code == 302  # to the form, with the token kept in the session
        lines = json_lines()
        _absent(token, lines)
        _absent(mail.outbox[0].body.strip().splitlines()[0], lines)
        paths = [line["path"] for line in lines if line["logger"] == "msp.request"]
        assert f"/accounts/reset/{uid}/[redacted]/" in paths

    @pytest.mark.django_db
    def test_email_intake_logs_the_message_never_its_body(self, json_lines, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        body = "The door code is 4471-Zebra and the server room key is under the mat."
        message = (
            "Message-ID: <body-1@stranger.example>\nFrom: someone@stranger.example\n"
            f"To: support@demo.msp\nSubject: Door code\n\n{body}\n"
        ).encode()
        row = email_ingest(raw=message)
        assert row.status == InboundStatus.QUARANTINED
        lines = json_lines()
        assert any("body-1@stranger.example" in line["message"] for line in lines)
        _absent("4471-Zebra", lines)

    def test_objects_given_to_a_logger_are_left_out(self, json_lines):
        request = RequestFactory().get("/workspace/tickets/?token=Query-Secret-77")
        logging.getLogger("django.request").warning(
            "Not Found: %s", request.path, extra={"request": request, "status_code": 404}
        )
        (line,) = json_lines()
        assert line["status_code"] == 404 and "request" not in line
        _absent("Query-Secret-77", [line])

    @pytest.mark.django_db
    def test_a_refused_imap_login(self, imap_server, json_lines):
        password = "Imap-Wrong-Pa55word"
        mailbox = Mailbox.objects.create(
            name="support",
            host=imap_server["host"],
            port=imap_server["port"],
            username=imap_server["username"],
            password=password,
            use_ssl=False,
        )
        assert mailbox_poll(mailbox=mailbox).error
        lines = json_lines()
        assert any(line["message"].startswith("Mailbox support:") for line in lines)
        _absent(password, lines)


@pytest.mark.slow  # three start-ups of the production settings
def test_production_logs_json_by_default_and_names_a_bad_format():
    probe = "import logging; logging.getLogger('msp.probe').warning('probe line')"
    shown = run_manage("shell", "-c", probe, **PRODUCTION_ENV)
    line = json.loads(shown.stderr.strip().splitlines()[-1])
    assert (line["logger"], line["level"], line["message"]) == (
        "msp.probe",
        "WARNING",
        "probe line",
    )
    plain = run_manage("shell", "-c", probe, LOG_FORMAT="plain", **PRODUCTION_ENV)
    # A command runs in its own scope: its lines share an id too.
    assert re.search(r"WARNING msp\.probe \[[0-9a-f]{32}\] probe line$", plain.stderr.strip())
    refused = run_manage("check", LOG_FORMAT="xml", **PRODUCTION_ENV)
    assert refused.returncode != 0 and "LOG_FORMAT must be one of plain, json" in refused.stderr


@contextmanager
def _publishing_to(redis_url: str):
    """This process queues tasks on Redis, where the real worker reads (tests publish to
    memory:// otherwise)."""
    from msp.celery import app

    def use(url: str) -> None:
        app.conf.broker_url = url
        app._pool = None
        app.amqp._producer_pool = None

    original = app.conf.broker_url
    use(redis_url)
    try:
        yield
    finally:
        use(original)


def _worker_lines(log: str) -> list[dict]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_task_queued_by_a_request_logs_under_the_requests_id(
    postgres, redis_url, tmp_path, client, technician, client_a, json_lines
):
    """A technician's reply queues the email's delivery; the real worker (JSON logs) delivers
    it, and its lines carry the request's id, as does the request's own line."""
    contact = ContactFactory(client=client_a, email="ops@client-a.example")
    ticket = ticket_open(client=client_a, contact=contact, subject="Backup job failed")
    client.force_login(technician)
    log = tmp_path / "worker.log"
    with worker_and_beat(redis_url, tmp_path, LOG_FORMAT="json"), _publishing_to(redis_url):
        response = client.post(
            reverse("tickets:reply", args=[ticket.pk]), {"body": "Restarted the job."}
        )
        request_id = response.headers["X-Request-ID"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            line.get("request_id") == request_id and "succeeded" in line["message"]
            for line in _worker_lines(log.read_text())
        ):
            time.sleep(0.2)
    worker = _worker_lines(log.read_text())
    task_lines = [line for line in worker if line.get("request_id") == request_id]
    assert task_lines, f"no worker line with the request's id.\n{log.read_text()[-3000:]}"
    assert {line["task"] for line in task_lines} == {"msp.outbox_deliver"}
    assert any("succeeded" in line["message"] for line in task_lines)
    request_line = next(line for line in json_lines() if line["logger"] == "msp.request")
    assert request_line["request_id"] == request_id
    assert request_line["ticket_id"] == ticket.pk and request_line["user_id"] == technician.pk
    _absent("Restarted the job.", worker)


def test_an_outages_503s_leave_the_request_log_to_the_outage_summary(json_lines):
    """While the database is down msp.outage counts the 503s once a minute; one request line
    each would flood the log again."""
    from django.http import HttpResponse

    from msp.logging import RequestLogMiddleware

    outage = HttpResponse(status=503, headers={"Retry-After": "15"})
    for answer in (outage, HttpResponse(status=503), HttpResponse(status=200)):
        RequestLogMiddleware(lambda request, answer=answer: answer)(RequestFactory().get("/x"))
    statuses = [line["status"] for line in json_lines() if line["logger"] == "msp.request"]
    assert statuses == [503, 200]
