"""GET /metrics: who may read it, and that each figure is what the database (or the recorded
events) says, counted naively here."""

import socket
import time
from datetime import date, timedelta

import psycopg2
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from msp.choices import OutboxChannel
from msp.metrics import collector, figures
from msp.metrics import running as running_module
from msp.models import OutboxMessage
from msp.periods import Period
from sla.choices import ClockState
from sla.models import SLAClock, SLAEvent
from tests.factories import ClientFactory, TicketFactory
from tickets.choices import InboundStatus
from tickets.intake.mailboxes import mailbox_poll
from tickets.models import InboundEmail, Mailbox

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-tests-0123456789abcdef"


@pytest.fixture(autouse=True)
def fresh_totals(settings):
    """Each test starts with no recorded events and no settled totals (rows roll back)."""
    cache.clear()
    for running in (figures.MILESTONES, figures.EMAILS):
        running.state = type(running.state)()
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_ADDRESSES = []
    yield
    cache.clear()


def scrape(client, **extra) -> dict:
    """{(sample name, ((label, value), ...)): value} of one authorised scrape."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **extra)
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


# Who may read it


def test_closed_by_default(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


def test_the_token_is_required(client):
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    right = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert right.status_code == 200
    assert right["Content-Type"].startswith("text/plain")
    assert b"msp_outbox_pending" in right.content


def test_an_allowed_network_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8", "::1"]
    assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1").status_code == 403


def test_behind_a_proxy_the_address_the_proxy_saw_counts(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8"]
    settings.LOGIN_TRUSTED_PROXIES = 1
    proxied = {"REMOTE_ADDR": "127.0.0.1"}
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.1.1", **proxied).status_code == 200
    # The client wrote the left part; the proxy appended the address it saw.
    forged = "10.1.1.1, 203.0.113.9"
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR=forged, **proxied).status_code == 403


def test_token_and_network_together_both_required(client, settings):
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8"]
    bearer = f"Bearer {TOKEN}"
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.5").status_code == 401
    assert (
        client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_AUTHORIZATION=bearer).status_code
        == 403
    )
    assert (
        client.get("/metrics", REMOTE_ADDR="10.0.0.5", HTTP_AUTHORIZATION=bearer).status_code == 200
    )


def test_a_signed_in_user_still_gets_the_metrics_not_the_mfa_step(client, technician, settings):
    from msp.models import SecuritySettings

    SecuritySettings.objects.update_or_create(pk=1, defaults={"require_staff_mfa": True})
    client.force_login(technician)
    assert client.get("/workspace/tickets/").status_code == 302  # MFA set-up first
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_only_get(client):
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


# The figures


def test_outbox_depth_and_oldest_age(client):
    now = timezone.now()
    for age in (5, 90, 700):
        message = OutboxMessage.objects.create(
            key=f"k{age}", channel=OutboxChannel.EMAIL, email="a@example.com", subject="s", body="b"
        )
        OutboxMessage.objects.filter(pk=message.pk).update(created_at=now - timedelta(seconds=age))
    samples = scrape(client)
    assert value(samples, "msp_outbox_pending") == OutboxMessage.objects.count() == 3
    assert 700 <= value(samples, "msp_outbox_oldest_pending_seconds") <= 705
    assert value(samples, "msp_health_check_ok", check="outbox") == 0
    assert value(samples, "msp_health_check_ok", check="database") == 1


def test_sweep_lag_is_the_oldest_undone_check(client):
    ticket = TicketFactory(client=ClientFactory(), at=timezone.now() - timedelta(days=10))
    oldest = min(clock.next_check_at for clock in ticket.sla_clocks.all() if clock.next_check_at)
    samples = scrape(client)
    expected = (timezone.now() - oldest).total_seconds()
    assert abs(value(samples, "msp_sla_sweep_lag_seconds") - expected) <= 2
    assert (
        value(samples, "msp_sla_checks_due")
        == SLAClock.objects.filter(next_check_at__lte=timezone.now()).count()
    )


def _clocks_due_next_hour_naively(now) -> dict:
    counts: dict[str, int] = {}
    for clock in SLAClock.objects.all():
        if (
            clock.state == ClockState.RUNNING
            and clock.due_at is not None
            and now < clock.due_at <= now + timedelta(hours=1)
            # left out: a check more than an hour overdue (the sweep has stopped)
            and clock.next_check_at > now - timedelta(hours=1)
        ):
            counts[clock.kind] = counts.get(clock.kind, 0) + 1
    return counts


def test_clocks_due_in_the_next_hour(client):
    now = timezone.now()
    client_row = ClientFactory()
    tickets = [TicketFactory(client=client_row) for _ in range(6)]
    cases = [  # (due in minutes, next check that many minutes before, state)
        (30, 10, ClockState.RUNNING),
        (59, 10, ClockState.RUNNING),
        (61, 10, ClockState.RUNNING),  # after the hour
        (-5, 10, ClockState.RUNNING),  # overdue: not "due in the next hour"
        (20, 10, ClockState.PAUSED),
        (30, 150, ClockState.RUNNING),  # its warning two hours overdue: the sweep stopped
    ]
    for ticket, (minutes, before, state) in zip(tickets, cases, strict=True):
        due = now + timedelta(minutes=minutes)
        SLAClock.objects.filter(ticket=ticket).update(
            due_at=due, next_check_at=due - timedelta(minutes=before), state=state
        )
    samples = scrape(client)
    expected = _clocks_due_next_hour_naively(timezone.now())
    assert sum(expected.values()) == 4  # two clocks (response, resolution) of two tickets
    for kind in ("response", "resolution", "next_update"):
        assert value(samples, "msp_sla_clocks_due_next_hour", kind=kind) == expected.get(kind, 0)


def _event(clock, key: str, late_seconds: float) -> SLAEvent:
    due = timezone.now() - timedelta(minutes=30)
    late = due + timedelta(seconds=late_seconds)
    return SLAEvent.objects.create(
        clock=clock, key=key, due_at=due, recorded_at=late, written_at=late
    )


def test_milestones_fired_and_how_late(client):
    clocks = list(SLAClock.objects.filter(ticket__in=[TicketFactory(), TicketFactory()]))
    lateness = {"warning-75": 3, "warning-90": 45, "breach": 200, "unack-4": 10}
    for clock in clocks:
        for key, late in lateness.items():
            _event(clock, key, late)
    # A sweep that acted as of a second after the breach but could write only 100 s later
    # (the database was stopped): late by 100 s; and a row from before write times were kept.
    due = timezone.now() - timedelta(minutes=30)
    SLAEvent.objects.create(
        clock=clocks[0],
        key="warning-50",
        due_at=due,
        recorded_at=due + timedelta(seconds=1),
        written_at=due + timedelta(seconds=100),
    )
    SLAEvent.objects.create(
        clock=clocks[1],
        key="warning-50",
        due_at=due,
        recorded_at=due + timedelta(seconds=20),
        written_at=None,
    )
    samples = scrape(client)
    for kind, keys in (("breach", 1), ("unack", 1)):
        assert value(samples, "msp_sla_milestones_total", kind=kind) == keys * len(clocks)
    assert value(samples, "msp_sla_milestones_total", kind="warning") == 2 * len(clocks) + 2
    # Naively: every event's lateness (by its write time where kept) against each bucket.
    events = list(SLAEvent.objects.all())

    def late(e) -> float:
        return ((e.written_at or e.recorded_at) - e.due_at).total_seconds()

    for bound in figures.LATENESS_BUCKETS:
        within = sum(1 for e in events if e.key.startswith("warning") and late(e) <= bound)
        assert (
            value(
                samples,
                "msp_sla_milestone_lateness_seconds_bucket",
                kind="warning",
                le=f"{bound}.0",
            )
            == within
        )
    warnings = sum(late(e) for e in events if e.key.startswith("warning"))
    assert value(
        samples, "msp_sla_milestone_lateness_seconds_sum", kind="warning"
    ) == pytest.approx(warnings)
    assert value(samples, "msp_sla_milestone_lateness_seconds_sum", kind="breach") == pytest.approx(
        200 * len(clocks)
    )


def _fired(client) -> float:
    samples = scrape(client)
    return sum(
        value(samples, "msp_sla_milestones_total", kind=kind)
        for kind in ("warning", "breach", "unack")
    )


def _settle(client, running=figures.MILESTONES, seconds: float = 90) -> bool:
    """Age the checkpoint past the barrier's wait, then scrape until it settles (other
    sessions' transactions on the server can hold it back a moment)."""
    pending = running.state.pending_pk
    if running.state.pending_at is not None:
        running.state.pending_at -= running_module.SETTLE + timedelta(seconds=1)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        scrape(client)
        if running.state.settled_pk == pending:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_running_totals_stay_exact_while_they_settle(client):
    """Totals across scrapes as rows arrive, including one that commits late with a smaller
    key than rows already counted."""
    (clock, *_) = SLAClock.objects.filter(ticket=TicketFactory())
    first = _event(clock, "warning-75", 1)
    SLAEvent.objects.create(
        pk=first.pk + 2,
        clock=clock,
        key="warning-90",
        due_at=first.due_at,
        recorded_at=first.due_at,
    )
    assert _fired(client) == 2 == SLAEvent.objects.count()
    assert figures.MILESTONES.state.pending_pk == first.pk + 2
    # A transaction that took the key in between commits only now.
    SLAEvent.objects.create(
        pk=first.pk + 1, clock=clock, key="breach", due_at=first.due_at, recorded_at=first.due_at
    )
    assert _settle(client)
    assert _fired(client) == 3 == SLAEvent.objects.count()
    SLAEvent.objects.create(  # a row after the settled key
        pk=first.pk + 3, clock=clock, key="unack-1", due_at=first.due_at, recorded_at=first.due_at
    )
    assert _fired(client) == 4 == SLAEvent.objects.count()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_open_transaction_holds_its_key_unsettled_until_it_commits(client):
    """A row whose insert took a key below the checkpoint but is not committed yet is counted
    once it commits: the checkpoint does not settle while that transaction runs."""
    if connection.vendor != "postgresql":
        pytest.skip("transaction ids are PostgreSQL's")
    (clock, *_) = SLAClock.objects.filter(ticket=TicketFactory())
    first = _event(clock, "warning-75", 1)
    other = psycopg2.connect(
        **{
            key: value
            for key, value in connection.get_connection_params().items()
            if key in ("dbname", "user", "password", "host", "port")
        }
    )
    try:
        with other.cursor() as cursor:  # a transaction of its own, left open
            cursor.execute(
                "INSERT INTO sla_slaevent (id, clock_id, key, due_at, recorded_at) "
                "VALUES (%s, %s, 'breach', now(), now())",
                [first.pk + 1, clock.pk],
            )
        SLAEvent.objects.create(
            pk=first.pk + 2, clock=clock, key="warning-90", due_at=first.due_at,
            recorded_at=first.due_at,
        )  # fmt: skip
        assert _fired(client) == 2
        assert not _settle(client, seconds=2)  # held back by the open transaction
        assert _fired(client) == 2
        other.commit()
        assert _settle(client)
        assert _fired(client) == 3 == SLAEvent.objects.count()
    finally:
        other.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_new_process_takes_the_settled_totals_from_the_cache(client):
    (clock, *_) = SLAClock.objects.filter(ticket=TicketFactory())
    for n in range(3):
        _event(clock, f"warning-{n + 70}", 1)
    scrape(client)
    assert _settle(client)
    settled = figures.MILESTONES.state.settled_pk
    figures.MILESTONES.state = type(figures.MILESTONES.state)()  # a fresh worker
    with CaptureQueriesContext(connection) as queries:
        samples = scrape(client)
    assert value(samples, "msp_sla_milestones_total", kind="warning") == 3
    assert figures.MILESTONES.state.settled_pk == settled
    (sql,) = [q["sql"] for q in queries if "sla_slaevent" in q["sql"]]
    assert f'"id" > {settled}' in sql  # only rows after the settled key were read


def test_emails_received_ignored_and_quarantined(client):
    now = timezone.now()
    statuses = [InboundStatus.PROCESSED] * 3 + [InboundStatus.IGNORED] * 2
    statuses += [InboundStatus.QUARANTINED]
    for n, status in enumerate(statuses):
        InboundEmail.objects.create(
            message_id=f"<m{n}@example.com>", raw=b"x", received_at=now, status=status
        )
    samples = scrape(client)
    assert value(samples, "msp_emails_received_total") == InboundEmail.objects.count() == 6
    assert value(samples, "msp_emails_ignored_total") == 2
    assert value(samples, "msp_emails_quarantined") == 1


def test_alerts_received_refused_and_kept_unrouted(client, rmm, server):
    firing = {
        "source": "ninjaone",
        "fingerprint": "disk@RMM-77",
        "status": "firing",
        "severity": "major",
        "summary": "disk full",
        "asset": "RMM-77",
    }
    assert rmm.post("/api/v1/alerts/", firing, format="json").status_code == 202
    assert rmm.post("/api/v1/alerts/", firing, format="json").status_code == 202
    unknown = {**firing, "fingerprint": "x", "asset": "nowhere", "client": "nobody"}
    assert rmm.post("/api/v1/alerts/", unknown, format="json").status_code == 202
    assert rmm.post("/api/v1/alerts/", {"status": "firing"}, format="json").status_code == 400
    assert client.post("/api/v1/alerts/zabbix/", {}, content_type="application/json").status_code
    samples = scrape(client)
    received = "msp_alerts_received_total"
    assert value(samples, received, endpoint="generic", action="opened") == 1
    assert value(samples, received, endpoint="generic", action="repeated") == 1
    assert value(samples, received, endpoint="generic", action="unrouted") == 1
    assert value(samples, "msp_alerts_refused_total", endpoint="generic", code="400") == 1
    assert value(samples, "msp_alerts_refused_total", endpoint="zabbix", code="401") == 1
    assert value(samples, "msp_alerts_unrouted") == 1


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_failing_mailbox_poll(client):
    box = Mailbox.objects.create(
        name="support", host="127.0.0.1", port=_closed_port(), use_ssl=False, username="u",
        password="p",
    )  # fmt: skip
    Mailbox.objects.create(name="off", host="h", username="u", password="p", is_active=False)
    mailbox_poll(mailbox=box)
    samples = scrape(client)
    assert value(samples, "msp_mailbox_poll_errors_total") == 1
    assert value(samples, "msp_mailbox_poll_failing", mailbox="support") == 1
    box.refresh_from_db()
    assert value(
        samples, "msp_mailbox_last_poll_timestamp_seconds", mailbox="support"
    ) == pytest.approx(box.last_polled_at.timestamp())
    assert not any(labels == (("mailbox", "off"),) for _, labels in samples)


def test_report_generation_times(client):
    from reporting.rendering import report_pdf
    from reporting.services import report_generate

    report = report_generate(client=ClientFactory(), period=Period("month", date(2026, 1, 1)))
    report_pdf(report)
    samples = scrape(client)
    name = "msp_document_generation_seconds"
    for stage in ("figures", "pdf"):
        assert value(samples, f"{name}_count", document="report", stage=stage) == 1
        assert value(samples, f"{name}_sum", document="report", stage=stage) > 0


def test_celery_queue_lengths_on_a_redis_broker(client, redis_url):
    import redis

    from msp.celery import app

    broker = redis.Redis.from_url(redis_url)
    broker.delete("celery", "timers")
    broker.rpush("celery", "a", "b", "c")
    broker.rpush("timers", "d")
    original = app.conf.broker_url
    app.conf.broker_url = redis_url
    try:
        samples = scrape(client)
    finally:
        app.conf.broker_url = original
        broker.delete("celery", "timers")
    assert value(samples, "msp_celery_queue_length", queue="celery") == 3
    assert value(samples, "msp_celery_queue_length", queue="timers") == 1


def test_no_queue_lengths_without_a_redis_broker(client):
    samples = scrape(client)
    assert not any(name == "msp_celery_queue_length" for name, _ in samples)
    assert value(samples, "msp_scrape_collector_success", collector="celery") == 1


def test_a_failing_source_leaves_the_others(client, monkeypatch):
    def broken(*, now):
        raise RuntimeError("database gone")

    monkeypatch.setitem(collector.SOURCES, "sla", broken)
    samples = scrape(client)
    assert value(samples, "msp_scrape_collector_success", collector="sla") == 0
    assert value(samples, "msp_scrape_collector_success", collector="health") == 1
    assert ("msp_outbox_pending", ()) in samples
    assert not any(name.startswith("msp_sla_milestones") for name, _ in samples)


def test_a_fixed_number_of_queries_whatever_the_data(client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            scrape(client)
        return len(captured)

    empty = queries()
    for ticket in [TicketFactory() for _ in range(4)]:
        for clock in ticket.sla_clocks.all():
            _event(clock, "breach", 30)
    Mailbox.objects.create(name="a", host="h", username="u", password="p")
    Mailbox.objects.create(name="b", host="h", username="u", password="p")
    cache.clear()
    assert queries() == empty


# Production settings


def test_production_refuses_a_short_token_and_a_malformed_network():
    from tests.msp.test_settings import PRODUCTION_ENV, run_manage

    short = run_manage("check", **{**PRODUCTION_ENV, "METRICS_TOKEN": "guessable"})
    assert short.returncode != 0
    assert "METRICS_TOKEN must be at least 32 characters" in short.stderr
    network = run_manage("check", **{**PRODUCTION_ENV, "METRICS_ALLOWED_ADDRESSES": "10.0.0.0/33"})
    assert network.returncode != 0
    assert "METRICS_ALLOWED_ADDRESSES: '10.0.0.0/33' is not an address or network" in network.stderr
    good = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **{**PRODUCTION_ENV, "METRICS_TOKEN": TOKEN, "METRICS_ALLOWED_ADDRESSES": "10.0.0.0/8"},
    )
    assert good.returncode == 0, good.stderr


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_with_the_database_unreachable_the_scrape_still_answers_quickly(client, settings):
    """Prometheus gets what can be read (the recorded counters, the checks' failure) instead of
    a hang or an error page: the database's sources show as failed."""
    scrape(client)  # the process's first request imports the URLconf's views: not the point
    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = _closed_port()
    try:
        started = time.monotonic()
        samples = scrape(client)
        elapsed = time.monotonic() - started
    finally:
        connection.close()
        connection.settings_dict.update(original)
    assert elapsed < 2
    assert value(samples, "msp_health_check_ok", check="database") == 0
    for source in ("sla", "intake"):
        assert value(samples, "msp_scrape_collector_success", collector=source) == 0
    assert value(samples, "msp_scrape_collector_success", collector="recorded") == 1
