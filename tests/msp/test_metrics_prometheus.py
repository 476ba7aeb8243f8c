"""The metrics as Prometheus sees them: a real Prometheus (Debian's package) scraping a live
server with the bearer token, the shipped alerting rules through promtool, and the Grafana
dashboard's expressions against what the endpoint exposes."""

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.core.cache import cache
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from msp.choices import OutboxChannel
from msp.metrics import figures
from msp.models import OutboxMessage
from tests.conftest import _missing_service
from tickets.models import Mailbox

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "msp-alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "msp-dashboard.json"
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
TOKEN = "metrics-token-for-the-prometheus-test-0123456789"
# Names that are Prometheus's own (of every scrape), not the endpoint's.
PROMETHEUS_SERIES = {"up"}
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def _binary(path: str) -> str:
    if not shutil.which(path):
        _missing_service(f"{path} is not installed (apt-get install prometheus)")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _exposed_names(client, settings, redis_url: str) -> set[str]:
    """Every sample name of one scrape, with each source showing all its figures: a mailbox
    for the per-mailbox series, a heartbeat for beat's age, a Redis broker for the queues."""
    from msp.celery import app
    from msp.tasks import heartbeat_task

    settings.METRICS_TOKEN = TOKEN
    Mailbox.objects.create(
        name="support", host="h", username="u", password="p", last_polled_at=timezone.now()
    )
    heartbeat_task()
    original, app.conf.broker_url = app.conf.broker_url, redis_url
    try:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 200
    return {
        sample.name
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def _metric_names(expression: str) -> set[str]:
    """The metric names an expression reads (ours all start with msp_), and `up`."""
    without_labels = re.sub(r"\{[^}]*\}", "", expression)
    names = set(re.findall(r"\bmsp_[a-z0-9_]+", without_labels))
    return names | ({"up"} if re.search(r"\bup\b", without_labels) else set())


def _known(name: str, exposed: set[str]) -> bool:
    return name in exposed or name in PROMETHEUS_SERIES


def test_the_alerting_rules_pass_promtool_and_their_unit_tests():
    promtool = _binary(PROMTOOL)
    checked = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout
    tested = subprocess.run(
        [promtool, "test", "rules", "msp-alerts.test.yml"],
        cwd=RULES.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    config = subprocess.run(
        [promtool, "check", "config", "--syntax-only", "prometheus.yml"],
        cwd=RULES.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert config.returncode == 0, config.stdout + config.stderr


@pytest.mark.django_db
def test_the_rules_and_the_dashboard_read_only_metrics_the_endpoint_exposes(
    client, settings, redis_url
):
    exposed = _exposed_names(client, settings, redis_url)
    rules = yaml.safe_load(RULES.read_text())
    expressions = {
        rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]
    }
    assert {"MspSlaSweepLagging", "MspOutboxStuck", "MspMailboxPollFailing"} <= set(expressions)
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expressions[f"panel {panel['title']!r} {target['refId']}"] = target["expr"]
    assert len(expressions) > 20
    for where, expression in expressions.items():
        names = _metric_names(expression)
        assert names, f"{where} reads no metric: {expression}"
        unknown = {name for name in names if not _known(name, exposed)}
        assert not unknown, f"{where} reads {unknown}, which /metrics does not expose"


@pytest.fixture
def prometheus(tmp_path):
    """Start Prometheus on a free loopback port; `start(target)` scrapes target every second."""
    binary = _binary(PROMETHEUS)
    processes = []

    def start(target: str) -> str:
        port = _free_port()
        (tmp_path / "token").write_text(TOKEN)
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "msp",
                    "metrics_path": "/metrics",
                    "authorization": {"credentials_file": str(tmp_path / "token")},
                    "static_configs": [{"targets": [target]}],
                }
            ],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        log = (tmp_path / "prometheus.log").open("w")
        processes.append(
            subprocess.Popen(
                [
                    binary,
                    f"--config.file={tmp_path / 'prometheus.yml'}",
                    f"--storage.tsdb.path={tmp_path / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        return f"http://127.0.0.1:{port}"

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _query(base: str, expression: str) -> list:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expression})}"
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - our loopback server
        return json.load(answer)["data"]["result"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_prometheus_scrapes_the_endpoint_and_queries_a_figure_back(
    live_server, settings, prometheus, tmp_path
):
    settings.METRICS_TOKEN = TOKEN
    cache.clear()
    for running in (figures.MILESTONES, figures.EMAILS):
        running.state = type(running.state)()
    for n in range(3):
        OutboxMessage.objects.create(
            key=f"m{n}", channel=OutboxChannel.EMAIL, email="a@example.com", subject="s", body="b"
        )
    pending = OutboxMessage.objects.filter(status="pending").count()
    base = prometheus(live_server.url.removeprefix("http://"))

    deadline = time.monotonic() + 60
    result, up = [], []
    while time.monotonic() < deadline:
        try:
            up = _query(base, 'up{job="msp"}')
            result = _query(base, "msp_outbox_pending")
        except OSError:
            pass  # not listening yet
        if result:
            break
        time.sleep(0.5)
    log = (tmp_path / "prometheus.log").read_text()
    assert result, f"no sample of msp_outbox_pending within 60 s; up={up}\n{log[-3000:]}"
    assert [sample["value"][1] for sample in up] == ["1"]
    (sample,) = result
    assert sample["metric"]["job"] == "msp"
    assert float(sample["value"][1]) == pending == 3
    # The bucket the alerting rule on late milestones reads, under the label value it names.
    buckets = _query(base, 'msp_sla_milestone_lateness_seconds_bucket{le="60.0"}')
    assert {bucket["metric"]["kind"] for bucket in buckets} == {"warning", "breach", "unack"}
