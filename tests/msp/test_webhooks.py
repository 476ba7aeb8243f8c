"""Outbound webhooks end to end: real signed requests to a receiver on loopback, verified with
the independent `standardwebhooks` library; a receiver that is down for a while; replays; the
SSRF guard; secret rotation; automatic disabling; who may manage them; what they cost."""

import http.server
import json
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from msp.choices import OutboxChannel, UserRole
from msp.models import (
    OutboxMessage,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSettings,
)
from msp.webhooks import services as webhooks
from msp.webhooks.choices import WebhookDeliveryStatus, WebhookEventType
from msp.webhooks.services import (
    ROUTES_KEY,
    WebhookEvent,
    webhook_deliver,
    webhook_retry_due,
)
from msp.webhooks.tasks import webhook_deliver_task
from tests.factories import ContactFactory, StaffFactory
from tickets import services as tickets
from tickets.choices import TicketStatus

pytestmark = pytest.mark.django_db

ALL_TICKET_TYPES = [
    WebhookEventType.TICKET_CREATED,
    WebhookEventType.TICKET_STATUS_CHANGED,
    WebhookEventType.TICKET_ASSIGNED,
    WebhookEventType.TICKET_COMMENT_ADDED,
    WebhookEventType.TICKET_UPDATED,
]


@pytest.fixture(autouse=True)
def routes_cache():
    """The cached routes are the process's: start cold, and leave them as they will be after
    the rollback (no endpoint), so that other tests' query counts are not touched."""
    cache.delete(ROUTES_KEY)
    yield
    webhooks.webhook_routes_assume_none()


@pytest.fixture
def loopback_allowed(db):
    return webhooks.webhook_settings_save(
        allowed_networks="127.0.0.0/8", allow_http=True, clients_may_subscribe=False
    )


class Receiver:
    """A small threaded HTTP server on loopback that keeps what it receives."""

    def __init__(self, port: int = 0, status: int = 200, delay: float = 0):
        self.requests: list[tuple[dict, str]] = []
        self.status = status
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                body = self.rfile.read(length).decode()
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                time.sleep(delay)
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def ids(self) -> list[str]:
        return [headers["webhook-id"] for headers, _ in self.requests]

    def events(self, secret: str) -> list[dict]:
        """Each request verified with the standardwebhooks library (raises if one fails)."""
        return [Webhook(secret).verify(body, headers) for headers, body in self.requests]


@contextmanager
def receiving(**kwargs):
    receiver = Receiver(**kwargs)
    try:
        yield receiver
    finally:
        receiver.stop()


def deliver_due(now=None) -> list[str]:
    return [webhook_deliver(delivery_id=pk, now=now) for pk in webhook_retry_due(now=now)]


def subscribe(admin, url, event_types=ALL_TICKET_TYPES, **kwargs):
    return webhooks.webhook_endpoint_create(
        actor=admin, url=url, event_types=list(event_types), **kwargs
    )


# End to end -------------------------------------------------------------------------------


def test_ticket_events_arrive_signed_and_verify_with_the_standard_library(
    loopback_allowed, admin_user, technician, client_a, policy, api_as
):
    with receiving() as receiver:
        response = api_as(admin_user).post(
            "/api/v1/webhook-endpoints/",
            {"url": receiver.url, "event_types": ALL_TICKET_TYPES, "description": "Chat"},
            format="json",
        )
        assert response.status_code == 201, response.json()
        secret = response.json()["secret"]
        assert secret.startswith("whsec_")

        contact = ContactFactory(client=client_a)
        ticket = tickets.ticket_open(client=client_a, subject="Printer down", contact=contact)
        tickets.ticket_assign(ticket=ticket, actor=technician, assignee=technician)
        tickets.ticket_note(ticket=ticket, author=technician, body="Internal: the toner again")
        tickets.ticket_reply(ticket=ticket, author=technician, body="On my way.")
        tickets.ticket_change_status(
            ticket=ticket, actor=technician, status=TicketStatus.WAITING_ON_CLIENT
        )
        assert deliver_due() == ["delivered"] * 4

        events = receiver.events(secret)
        # The note is sent nowhere; the reply is also the first response, which is sent as
        # no change of its own.
        assert sorted(event["type"] for event in events) == [
            "ticket.assigned",
            "ticket.comment_added",
            "ticket.created",
            "ticket.status_changed",
        ]
        for (headers, _body), event in zip(receiver.requests, events, strict=True):
            assert event["version"] == 1 and event["id"] == headers["webhook-id"]
            assert event["data"]["ticket"]["id"] == ticket.pk
            assert event["data"]["ticket"]["client_id"] == client_a.pk
        bodies = " ".join(body for _, body in receiver.requests)
        assert "toner" not in bodies  # internal notes never leave
        comment = next(e for e in events if e["type"] == "ticket.comment_added")
        assert comment["data"]["comment"]["body"] == "On my way."

        # A tampered body or an old timestamp does not verify.
        headers, body = receiver.requests[0]
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body.replace("Printer", "Scanner"), headers)


def test_the_delivery_log_records_each_attempt(loopback_allowed, admin_user, client_a, policy):
    with receiving(status=500) as receiver:
        endpoint, _ = subscribe(admin_user, receiver.url)
        tickets.ticket_open(client=client_a, subject="Printer")
        assert deliver_due() == ["pending"]
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        attempt = delivery.attempt_log.get()
        assert attempt.response_status == 500 and attempt.number == 1
        assert attempt.response_excerpt == '{"ok": true}' and attempt.duration_ms >= 0
        assert delivery.next_attempt_at > timezone.now()
        assert json.loads(delivery.body)["type"] == "ticket.created"


def test_a_receiver_down_for_a_while_gets_each_event_once_when_back(
    loopback_allowed, admin_user, client_a, policy
):
    with receiving() as probe:  # a free port, then nobody listening on it
        port = probe.port
    endpoint, secret = subscribe(admin_user, f"http://127.0.0.1:{port}/hooks")
    for subject in ("One", "Two", "Three"):
        tickets.ticket_open(client=client_a, subject=subject)
    now = timezone.now()
    # Connection refused: the others wait for the first one's next attempt (one try per step).
    assert deliver_due(now) == ["pending", None, None]
    assert deliver_due(now + timedelta(seconds=40)) == ["pending", None, None]
    assert sorted(WebhookDelivery.objects.values_list("attempts", flat=True)) == [0, 0, 2]
    endpoint.refresh_from_db()
    assert endpoint.failing_since == now and endpoint.is_active

    with receiving(port=port) as receiver:
        assert deliver_due(now + timedelta(seconds=50)) == []  # not due yet (back-off)
        assert deliver_due(now + timedelta(minutes=2)) == ["delivered"] * 3
        assert deliver_due(now + timedelta(days=1)) == []
        ids = receiver.ids()
        assert len(ids) == len(set(ids)) == 3
        subjects = sorted(e["data"]["ticket"]["subject"] for e in receiver.events(secret))
        assert subjects == ["One", "Three", "Two"]
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_replay_of_one_delivery_and_of_a_time_range(
    loopback_allowed, admin_user, client_a, policy, api_as
):
    with receiving() as receiver:
        endpoint, secret = subscribe(admin_user, receiver.url)
        tickets.ticket_open(client=client_a, subject="One")
        tickets.ticket_open(client=client_a, subject="Two")
        deliver_due()
        first = endpoint.deliveries.order_by("pk").first()

        api = api_as(admin_user)
        response = api.post(
            f"/api/v1/webhook-endpoints/{endpoint.pk}/replay/",
            {"delivery_ids": [first.pk]},
            format="json",
        )
        assert response.status_code == 202 and response.json() == {"replayed": 1}
        deliver_due()
        assert receiver.ids()[2] == first.event_id  # the same id: the receiver can dedupe

        start = (timezone.now() - timedelta(hours=1)).isoformat()
        end = (timezone.now() + timedelta(hours=1)).isoformat()
        response = api.post(
            f"/api/v1/webhook-endpoints/{endpoint.pk}/replay/",
            {"start": start, "end": end},
            format="json",
        )
        assert response.json() == {"replayed": 2}
        deliver_due()
        assert len(receiver.requests) == 5 and len(set(receiver.ids())) == 2
        receiver.events(secret)  # every replay verifies

        log = api.get(f"/api/v1/webhook-endpoints/{endpoint.pk}/deliveries/").json()
        assert {row["status"] for row in log["results"]} == {"delivered"}
        assert all(len(row["attempt_log"]) == 3 for row in log["results"] if row["id"] == first.pk)


def test_send_test_event_through_the_task(loopback_allowed, admin_user, client, policy):
    with receiving() as receiver:
        endpoint, secret = subscribe(admin_user, receiver.url)
        client.force_login(admin_user)
        response = client.post(f"/workspace/settings/webhooks/{endpoint.pk}/test/")
        assert response.status_code == 302
        delivery = endpoint.deliveries.get()
        webhook_deliver_task.apply(args=[delivery.pk])  # the task as a worker runs it
        (event,) = receiver.events(secret)
        assert event["type"] == "webhook.test" and event["data"]["endpoint_id"] == endpoint.pk

        # A disabled endpoint takes test events (to check a receiver before enabling it again).
        webhooks.webhook_endpoint_update(endpoint=endpoint, is_active=False)
        delivery = webhooks.webhook_test_send(endpoint=endpoint, actor=admin_user)
        assert webhook_deliver(delivery_id=delivery.pk) == "delivered"


# The SSRF guard ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/",
        "https://224.0.0.1/",
        "https://0.0.0.0/",
        "https://100.64.0.1/",
        "https://[::ffff:127.0.0.1]/",
        "https://localhost/",
        "http://93.184.215.14/",  # public, but plain http is not allowed by default
        "ftp://93.184.215.14/",
        "https://user:pass@93.184.215.14/",
    ],
)
def test_targets_that_are_not_public_https_are_refused(admin_user, url, api_as):
    response = api_as(admin_user).post(
        "/api/v1/webhook-endpoints/",
        {"url": url, "event_types": ["ticket.created"]},
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert "url" in response.json()["errors"]
    assert not WebhookEndpoint.objects.exists()


def test_a_public_https_target_is_accepted(admin_user):
    endpoint, _ = subscribe(admin_user, "https://93.184.215.14/hooks")
    assert endpoint.is_active


def test_loopback_only_when_an_administrator_allows_it(admin_user):
    from django.core.exceptions import ValidationError

    webhooks.webhook_settings_save(
        allowed_networks="", allow_http=True, clients_may_subscribe=False
    )
    with pytest.raises(ValidationError, match="loopback"):
        subscribe(admin_user, "http://127.0.0.1:9/hooks")
    webhooks.webhook_settings_save(
        allowed_networks="127.0.0.0/8", allow_http=True, clients_may_subscribe=False
    )
    assert subscribe(admin_user, "http://127.0.0.1:9/hooks")[0].is_active


def test_delivery_checks_the_target_again(loopback_allowed, admin_user, client_a, policy):
    """DNS (or the administrator's list) can change after subscribing: refused at delivery."""
    with receiving() as receiver:
        endpoint, _ = subscribe(admin_user, receiver.url)
        webhooks.webhook_settings_save(
            allowed_networks="", allow_http=True, clients_may_subscribe=False
        )
        tickets.ticket_open(client=client_a, subject="Printer")
        assert deliver_due() == ["pending"]
        assert receiver.requests == []
        attempt = endpoint.deliveries.get().attempt_log.get()
        assert attempt.error.startswith("Refused:") and attempt.response_status is None


def test_redirects_are_not_followed(loopback_allowed, admin_user, client_a, policy):
    with receiving(status=302) as receiver:
        endpoint, _ = subscribe(admin_user, receiver.url)
        tickets.ticket_open(client=client_a, subject="Printer")
        assert deliver_due() == ["pending"]  # a 3xx is a failure, retried later
        assert len(receiver.requests) == 1
        assert endpoint.deliveries.get().last_response_status == 302


# Rotation, disabling ----------------------------------------------------------------------


def test_rotation_signs_with_both_secrets_during_the_overlap(
    loopback_allowed, admin_user, client_a, policy
):
    with receiving() as receiver:
        endpoint, old = subscribe(admin_user, receiver.url)
        new = webhooks.webhook_secret_rotate(endpoint=endpoint, overlap=timedelta(hours=24))
        assert new != old
        tickets.ticket_open(client=client_a, subject="During the overlap")
        deliver_due()
        headers, _ = receiver.requests[0]
        assert len(headers["webhook-signature"].split(" ")) == 2
        receiver.events(old)  # receivers not yet switched still verify
        receiver.events(new)

        receiver.requests.clear()
        with time_machine.travel(timezone.now() + timedelta(hours=25)):
            tickets.ticket_open(client=client_a, subject="After it")
            deliver_due()
            headers, _ = receiver.requests[0]
            assert len(headers["webhook-signature"].split(" ")) == 1
            receiver.events(new)
            with pytest.raises(WebhookVerificationError):
                receiver.events(old)


def test_secrets_are_stored_encrypted(admin_user):
    endpoint, secret = subscribe(admin_user, "https://93.184.215.14/hooks")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM msp_webhookendpoint WHERE id = %s", [endpoint.pk])
        (stored,) = cursor.fetchone()
    assert secret not in stored and WebhookEndpoint.objects.get().secret == secret


def test_an_endpoint_failing_for_three_days_is_disabled_and_admins_emailed(
    loopback_allowed, admin_user, client_a, policy
):
    other_admin = StaffFactory(role=UserRole.ADMIN)
    with receiving() as probe:
        port = probe.port
    endpoint, _ = subscribe(admin_user, f"http://127.0.0.1:{port}/hooks")
    start = timezone.now()
    tickets.ticket_open(client=client_a, subject="Printer")
    now = start
    while endpoint.is_active and now < start + timedelta(days=5):
        deliver_due(now)
        now += timedelta(hours=1)
        endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert start + timedelta(days=3) <= now <= start + timedelta(days=3, hours=13)
    assert "Disabled automatically" in endpoint.disabled_reason
    mails = OutboxMessage.objects.filter(channel=OutboxChannel.EMAIL, key__startswith="webhook-")
    assert {m.email for m in mails} == {admin_user.email, other_admin.email}
    # Disabled: further events are not written for it, and what was pending is not sent.
    tickets.ticket_open(client=client_a, subject="Another")
    assert endpoint.deliveries.count() == 1
    assert deliver_due(now + timedelta(days=1)) in ([], ["failed"])


# Who may do what --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["technician", "dispatcher", "account_manager"])
def test_only_administrators_manage_webhooks(role, request, client, admin_user, api_as):
    user = request.getfixturevalue(role)
    endpoint, _ = subscribe(admin_user, "https://93.184.215.14/hooks")
    client.force_login(user)
    for url in (
        "/workspace/settings/webhooks/",
        "/workspace/settings/webhooks/settings/",
        f"/workspace/settings/webhooks/{endpoint.pk}/",
    ):
        assert client.get(url).status_code == 403
    assert client.post(f"/workspace/settings/webhooks/{endpoint.pk}/secret/").status_code == 403
    api = api_as(user)
    assert api.get("/api/v1/webhook-endpoints/").status_code == 403
    assert api.get(f"/api/v1/webhook-endpoints/{endpoint.pk}/secret/").status_code == 403
    response = api.post(
        "/api/v1/webhook-endpoints/",
        {"url": "https://93.184.215.14/x", "event_types": ["ticket.created"]},
        format="json",
    )
    assert response.status_code == 403


def test_client_users_are_refused_unless_the_msp_allows_it(client, client_user_a, api_as):
    client.force_login(client_user_a)
    assert client.get("/workspace/settings/webhooks/").status_code == 403
    assert api_as(client_user_a).get("/api/v1/webhook-endpoints/").status_code == 403


def test_administrator_pages(client, admin_user, client_a):
    webhooks.webhook_settings_save(
        allowed_networks="", allow_http=False, clients_may_subscribe=False
    )
    client.force_login(admin_user)
    assert client.get("/workspace/settings/webhooks/").status_code == 200
    response = client.post(
        "/workspace/settings/webhooks/",
        {"url": "https://10.0.0.5/hooks", "event_types": ["ticket.created"], "is_active": "on"},
    )
    assert response.status_code == 400 and b"private" in response.content
    response = client.post(
        "/workspace/settings/webhooks/",
        {
            "url": "https://93.184.215.14/hooks",
            "event_types": ["ticket.created", "sla.breach"],
            "client": client_a.pk,
            "is_active": "on",
        },
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 200 and endpoint.secret.encode() in response.content
    assert response["Cache-Control"] == "no-store"
    assert endpoint.client == client_a and endpoint.created_by == admin_user
    response = client.get(f"/workspace/settings/webhooks/{endpoint.pk}/")
    assert response.status_code == 200 and endpoint.secret.encode() not in response.content
    response = client.post(f"/workspace/settings/webhooks/{endpoint.pk}/rotate/")
    endpoint.refresh_from_db()
    assert endpoint.secret.encode() in response.content and endpoint.previous_secret
    response = client.post(f"/workspace/settings/webhooks/{endpoint.pk}/delete/")
    assert response.status_code == 302
    assert client.get(f"/workspace/settings/webhooks/{endpoint.pk}/").status_code == 404
    response = client.post(
        "/workspace/settings/webhooks/settings/",
        {"allowed_networks": "not a network", "allow_http": "on"},
    )
    assert response.status_code == 400


def test_a_client_never_receives_another_clients_events(
    loopback_allowed, admin_user, client_a, client_b, client_user_a, policy, api_as
):
    webhooks.webhook_settings_save(
        allowed_networks="127.0.0.0/8", allow_http=True, clients_may_subscribe=True
    )
    with receiving() as own, receiving() as msp_wide:
        api = api_as(client_user_a)
        response = api.post(
            "/api/v1/webhook-endpoints/",
            # A client's endpoint is its own client's, whatever client it names.
            {"url": own.url, "event_types": ["ticket.created"], "client": client_b.pk},
            format="json",
        )
        assert response.status_code == 201, response.json()
        assert response.json()["client"] == client_a.pk and response.json()["owned_by_client"]
        refused = api.post(
            "/api/v1/webhook-endpoints/",
            {"url": own.url, "event_types": ["contract.evaluated"]},
            format="json",
        )
        assert refused.status_code == 400
        _, msp_secret = subscribe(admin_user, msp_wide.url, ["ticket.created"])

        tickets.ticket_open(client=client_a, subject="Mine")
        tickets.ticket_open(client=client_b, subject="Theirs")
        webhooks.webhook_emit(
            type=WebhookEventType.ALERT_UNROUTED, data={"alert_id": 1}, client_id=None
        )
        deliver_due()
        secret = response.json()["secret"]
        assert [e["data"]["ticket"]["subject"] for e in own.events(secret)] == ["Mine"]
        assert len(msp_wide.events(msp_secret)) == 2

        # The client's user sees only their own endpoints; an administrator's is not theirs.
        listed = api.get("/api/v1/webhook-endpoints/").json()["results"]
        assert [row["id"] for row in listed] == [response.json()["id"]]
        assert api_as(admin_user).get("/api/v1/webhook-endpoints/").json()["count"] == 2


# What emission costs ----------------------------------------------------------------------


def test_emission_costs_nothing_without_subscribers(client_a, policy):
    webhooks.webhook_wanted_types()  # warm
    with CaptureQueriesContext(connection) as captured:
        assert webhooks.webhook_emit_many([WebhookEvent("ticket.created", {}, client_a.pk)]) == 0
    assert len(captured) == 0


@pytest.mark.parametrize("subscribers", [1, 6])
def test_emission_does_not_grow_with_subscriptions(subscribers, admin_user, client_a):
    for number in range(subscribers):
        subscribe(admin_user, f"https://93.184.215.14/{number}", ["sla.breach"])
    events = [WebhookEvent("sla.breach", {"n": n}, client_a.pk) for n in range(10)]
    webhooks.webhook_wanted_types()  # warm
    with CaptureQueriesContext(connection) as captured:
        assert webhooks.webhook_emit_many(events) == 10 * subscribers
    # One read of the endpoints concerned, one insert (savepoints aside).
    assert len([q for q in captured if "SAVEPOINT" not in q["sql"]]) == 2


def test_the_sweep_emits_sla_events_in_a_fixed_number_of_statements(
    loopback_allowed, admin_user, client_a, policy
):
    from tickets.timers.sweep import sla_sweep

    for number in range(3):
        subscribe(admin_user, f"https://93.184.215.14/{number}", ["sla.warning", "sla.breach"])
    opened = [tickets.ticket_open(client=client_a, subject=f"T{n}") for n in range(4)]
    webhooks.webhook_wanted_types()
    result = sla_sweep(now=timezone.now() + timedelta(days=30))
    assert result.milestones > 0
    per_ticket = WebhookDelivery.objects.filter(event_type="sla.breach").count()
    assert per_ticket >= 3 * len(opened)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {
        WebhookDeliveryStatus.PENDING
    }


def test_settings_default_to_public_https_only():
    current = WebhookSettings.current()
    assert not current.allow_http and not current.allowed_networks
    assert not current.clients_may_subscribe


# Facts from contracts and reporting -------------------------------------------------------


def test_contract_evaluated_breach_exempted_and_report_sent(admin_user, account_manager, policy):
    from datetime import UTC, date, datetime

    from contracts.choices import ContractStatus
    from contracts.services import breach_exemption_grant, contract_month_evaluate
    from tests.factories import ContactFactory, ContractFactory, ReportFactory

    subscribe(
        admin_user,
        "https://93.184.215.14/hooks",
        ["contract.evaluated", "sla.breach_exempted", "report.sent"],
    )
    contract = ContractFactory(status=ContractStatus.ACTIVE, start_date=date(2026, 1, 1))
    client = contract.client
    evaluation = contract_month_evaluate(
        contract=contract, month=date(2026, 7, 1), now=datetime(2026, 8, 3, tzinfo=UTC)
    )
    opened = datetime(2026, 7, 8, 9, tzinfo=UTC)
    ticket = tickets.ticket_open(client=client, subject="Down", at=opened)
    from tickets.timers.sweep import sla_sweep

    sla_sweep(now=opened + timedelta(days=20))
    clock = ticket.sla_clocks.filter(breached_at__isnull=False).first()
    breach_exemption_grant(
        clock=clock,
        user=account_manager,
        cause="client",
        reason="Internal: they were away",
        at=opened,
    )
    ContactFactory(client=client, receives_reports=True, email="cio@example.com")
    report = ReportFactory(client=client, sent=True)

    by_type = {row.event_type: json.loads(row.body) for row in WebhookDelivery.objects.all()}
    assert by_type["contract.evaluated"]["data"]["evaluation_id"] == evaluation.pk
    assert by_type["contract.evaluated"]["data"]["contract"]["number"] == contract.number
    exempted = by_type["sla.breach_exempted"]["data"]
    assert exempted["clock_id"] == clock.pk and exempted["ticket_id"] == ticket.pk
    assert "away" not in json.dumps(by_type)  # the written reason stays internal
    assert by_type["report.sent"]["data"]["report_id"] == report.pk
    assert {row.client_id for row in WebhookDelivery.objects.all()} == {client.pk}
    # Sent again: the report.sent webhook is not repeated (a stable event id).
    from reporting.services import report_send

    report_send(report=report)
    assert WebhookDelivery.objects.filter(event_type="report.sent").count() == 1


def _page_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_pages_cost_the_same_queries_whatever_they_list(client, admin_user, client_a):
    client.force_login(admin_user)
    first, _ = subscribe(admin_user, "https://93.184.215.14/0", ["sla.breach"], client=client_a)
    webhooks.webhook_emit(type="sla.breach", data={}, client_id=client_a.pk)
    client.get("/workspace/settings/webhooks/")  # warm the session
    listing = _page_queries(client, "/workspace/settings/webhooks/")
    detail = _page_queries(client, f"/workspace/settings/webhooks/{first.pk}/")
    for number in range(1, 4):
        subscribe(admin_user, f"https://93.184.215.14/{number}", ["sla.breach"], client=client_a)
    for _ in range(4):
        webhooks.webhook_emit(type="sla.breach", data={}, client_id=client_a.pk)
    for pk in webhook_retry_due()[:3]:
        WebhookDelivery.objects.filter(pk=pk).update(attempts=1)  # attempts to list
    assert _page_queries(client, "/workspace/settings/webhooks/") == listing
    assert _page_queries(client, f"/workspace/settings/webhooks/{first.pk}/") == detail


def test_a_read_only_token_does_not_read_the_secret(admin_user, api_as):
    endpoint, secret = subscribe(admin_user, "https://93.184.215.14/hooks")
    url = f"/api/v1/webhook-endpoints/{endpoint.pk}/secret/"
    assert api_as(admin_user, "read").get(url).status_code == 403
    assert api_as(admin_user).get(url).json()["secret"] == secret


def test_client_users_manage_their_own_endpoints_in_the_portal(
    client, client_user_a, client_user_b, admin_user
):
    client.force_login(client_user_a)
    assert client.get("/portal/webhooks/").status_code == 404  # not offered by default
    webhooks.webhook_settings_save(
        allowed_networks="", allow_http=False, clients_may_subscribe=True
    )
    assert client.get("/portal/webhooks/").status_code == 200
    response = client.post(
        "/portal/webhooks/",
        {"url": "https://93.184.215.14/mine", "event_types": ["ticket.created"], "is_active": "on"},
    )
    mine = WebhookEndpoint.objects.get()
    assert response.status_code == 200 and mine.secret.encode() in response.content
    assert mine.owned_by_client and mine.client == client_user_a.client
    refused = client.post(
        "/portal/webhooks/",
        {"url": "https://93.184.215.14/x", "event_types": ["contract.evaluated"]},
    )
    assert refused.status_code == 400  # not a choice for clients
    theirs, _ = webhooks.webhook_endpoint_create(
        actor=client_user_b, url="https://93.184.215.14/theirs", event_types=["ticket.created"]
    )
    msp_wide, _ = subscribe(admin_user, "https://93.184.215.14/msp")
    listing = client.get("/portal/webhooks/").content.decode()
    assert "/mine" in listing and "/theirs" not in listing and "/msp" not in listing
    for other in (theirs, msp_wide):
        assert client.get(f"/portal/webhooks/{other.pk}/").status_code == 404
        assert client.post(f"/portal/webhooks/{other.pk}/secret/").status_code == 404
    assert client.get(f"/portal/webhooks/{mine.pk}/").status_code == 200
    assert client.post(f"/portal/webhooks/{mine.pk}/test/").status_code == 302
    client.force_login(admin_user)
    assert client.get("/portal/webhooks/").status_code == 403  # staff use the workspace


def test_another_process_sees_a_new_subscription_through_the_stamp(admin_user, client_a):
    """The embedded setup's cache is each process's own: a subscription made by the web
    process reaches the worker's cached routes through the stamp file."""
    assert webhooks.webhook_wanted_types() == frozenset()
    # As if another process had cached "nothing", then the web process subscribed: its cache
    # entry is not deleted here, only the stamp moves.
    stale = cache.get(ROUTES_KEY)
    subscribe(admin_user, "https://93.184.215.14/hooks", ["sla.breach"])
    cache.set(ROUTES_KEY, stale, timeout=None)
    assert webhooks.webhook_wanted_types() == {"sla.breach"}


def test_deliveries_are_written_with_the_change_and_queued_after_commit(
    admin_user, client_a, policy, django_capture_on_commit_callbacks, monkeypatch
):
    from django.db import transaction

    sent = []
    monkeypatch.setattr(
        webhooks.current_app, "send_task", lambda name, args: sent.append((name, list(args)))
    )
    subscribe(admin_user, "https://93.184.215.14/hooks", ["ticket.created"])

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        tickets.ticket_open(client=client_a, subject="Rolled back")
        assert WebhookDelivery.objects.count() == 1
        raise Undo
    assert not WebhookDelivery.objects.exists()  # nothing sent for a change that did not happen

    with django_capture_on_commit_callbacks(execute=True):
        tickets.ticket_open(client=client_a, subject="Kept")
        assert sent == []  # not before commit
    (delivery,) = WebhookDelivery.objects.all()
    assert sent == [("msp.webhook_deliver", [delivery.pk])]


def test_the_periodic_retry_task_sends_what_is_due(loopback_allowed, admin_user, client_a, policy):
    from celery import current_app

    from msp.webhooks.tasks import webhook_retry_task

    with receiving() as receiver:
        _, secret = subscribe(admin_user, receiver.url)
        tickets.ticket_open(client=client_a, subject="Lost task")  # its delivery task was lost
        current_app.conf.task_always_eager = True
        try:
            webhook_retry_task.apply()
        finally:
            current_app.conf.task_always_eager = False
        (event,) = receiver.events(secret)
        assert event["data"]["ticket"]["subject"] == "Lost task"


def test_old_finished_deliveries_are_pruned(admin_user, client_a):
    subscribe(admin_user, "https://93.184.215.14/hooks", ["sla.breach"])
    for _ in range(3):
        webhooks.webhook_emit(type="sla.breach", data={}, client_id=client_a.pk)
    old, pending, recent = WebhookDelivery.objects.order_by("pk")
    long_ago = timezone.now() - timedelta(days=31)
    WebhookDelivery.objects.filter(pk__in=[old.pk, pending.pk]).update(created_at=long_ago)
    WebhookDelivery.objects.filter(pk__in=[old.pk, recent.pk]).update(status="delivered")
    assert webhooks.webhook_deliveries_prune() == 1
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {pending.pk, recent.pk}


def test_a_slow_receiver_times_out(loopback_allowed, admin_user, client_a, policy, monkeypatch):
    from msp.webhooks import targets

    monkeypatch.setattr(targets, "READ_TIMEOUT_SECONDS", 0.2)
    with receiving(delay=1) as receiver:
        endpoint, _ = subscribe(admin_user, receiver.url)
        tickets.ticket_open(client=client_a, subject="Printer")
        assert deliver_due() == ["pending"]
        attempt = endpoint.deliveries.get().attempt_log.get()
        assert "timed out" in attempt.error and attempt.response_status is None
        assert attempt.duration_ms < 1000


class TestSettingsApi:
    def test_administrators_read_and_change_them(self, admin_user, api_as):
        http = api_as(admin_user)
        assert http.get("/api/v1/webhook-settings/").json() == {
            "allowed_networks": "",
            "allow_http": False,
            "clients_may_subscribe": False,
        }
        response = http.patch(
            "/api/v1/webhook-settings/", {"allowed_networks": "10.20.0.0/16"}, format="json"
        )
        assert response.status_code == 200
        assert response.json()["allowed_networks"] == "10.20.0.0/16"
        assert WebhookSettings.current().allowed_networks == "10.20.0.0/16"
        response = http.patch(
            "/api/v1/webhook-settings/", {"allowed_networks": "10.20.0.0/33"}, format="json"
        )
        assert response.status_code == 400 and "allowed_networks" in response.json()["errors"]

    @pytest.mark.parametrize("role", ["technician", "account_manager", "client_user_a"])
    def test_nobody_else_may(self, role, api_as, request):
        http = api_as(request.getfixturevalue(role))
        assert http.get("/api/v1/webhook-settings/").status_code == 403
        response = http.patch(
            "/api/v1/webhook-settings/", {"clients_may_subscribe": True}, format="json"
        )
        assert response.status_code == 403
        assert WebhookSettings.current().clients_may_subscribe is False
