"""The first run, as the README says: `bin/run` on a fresh state folder, Ctrl-C at the end.

The demo loads, web, worker and beat come up under the demo's own load with no "database is
locked", /healthz says "ok", every demo email is written to the Sent mail folder (none to the
terminal), the sign-in line is printed last, and Ctrl-C stops everything without SIGKILL.
"""

import io
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.utils import timezone

from msp.choices import OutboxChannel
from msp.demo import demo_logins
from msp.management.commands.demo_ready import Command as DemoReady
from msp.models import OutboxMessage
from msp.selectors import BEAT_HEARTBEAT
from msp.services import heartbeat_record

REPOSITORY = Path(__file__).resolve().parents[2]
READY_SECONDS = 900  # generous: a loaded 2-core machine; it takes one to two minutes
# Settings the developer or the test run may have in the environment that would take bin/run
# off the embedded default (the test settings, a PostgreSQL URL, SMTP...).
NOT_INHERITED = {
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "DATABASE_REPLICA_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "EMAIL_BACKEND",
    "SITE_URL",
    "DEBUG",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "MEDIA_ROOT",
    "MSP_RUN_STARTED_AT",
    "MSP_WORKER_LOG_LEVEL",
    "PGBOUNCER_TRANSACTION_MODE",
}
# honcho's own line for a process it stopped: "hh:mm:ss system | web.1 stopped (rc=-15)".
STOPPED = re.compile(r"system\s+\| (\w+)\.1 stopped \(rc=(-?\d+)\)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Output:
    """Every line bin/run prints, read on a thread as it comes."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self.arrived: list[float] = []  # time.monotonic() of each line
        self._reader = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._reader.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.arrived.append(time.monotonic())
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, *, timeout: float, process: subprocess.Popen) -> int:
        """The index of the first line matching pattern."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for index, line in enumerate(self.lines):
                if re.search(pattern, line):
                    return index
            if process.poll() is not None:
                self._reader.join(timeout=5)
                pytest.fail("bin/run ended early:\n" + "\n".join(self.lines[-80:]))
            time.sleep(1)
        pytest.fail(f"no {pattern!r} within {timeout} s:\n" + "\n".join(self.lines[-80:]))

    def finish(self) -> str:
        self._reader.join(timeout=10)
        return "\n".join(self.lines)


def _processes_with(marker: str) -> list[int]:
    """Processes whose environment holds marker (this test's state folder): none may be left."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_bin_run_loads_the_demo_healthy_prints_the_logins_last_and_stops_cleanly(tmp_path):
    var_dir, port = tmp_path / "var", _free_port()
    marker = f"MSP_VAR_DIR={var_dir}"
    environment = {name: value for name, value in os.environ.items() if name not in NOT_INHERITED}
    environment.update(MSP_VAR_DIR=str(var_dir), PORT=str(port))
    started = time.monotonic()
    # Its own process group, as a terminal's foreground job: Ctrl-C is SIGINT to that group.
    process = subprocess.Popen(
        [str(REPOSITORY / "bin" / "run")],
        cwd=REPOSITORY,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = Output(process)
    try:
        url = f"http://127.0.0.1:{port}"
        ready = output.wait_for(
            rf"Ready in \d+ s\. Open {url} ", timeout=READY_SECONDS, process=process
        )
        ready_after = time.monotonic() - started
        seeded = output.wait_for("^Starting web, worker and beat", timeout=1, process=process)
        seeded_after = output.arrived[seeded] - started
        with urllib.request.urlopen(f"{url}/healthz", timeout=30) as response:  # noqa: S310
            health = json.load(response)
        assert health["status"] == "ok", health
        assert health["checks"]["outbox"]["pending"] == 0
        time.sleep(3)  # anything printed after the sign-in line would show by now

        # The logins come last: after them only the web's line for the request just made.
        printed_after = output.lines[ready + 1 :]
        assert all(re.search(r"web\.1 +\| .*GET /healthz", line) for line in printed_after), (
            printed_after
        )
        logins_block = "\n".join(output.lines[ready - len(demo_logins()) - 2 : ready])
        for login in demo_logins():
            assert login.email in logins_block

        stop_started = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
        stop_took = time.monotonic() - stop_started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for pid in _processes_with(marker):  # never leave a process behind, even on failure
            os.kill(pid, signal.SIGKILL)
    text = output.finish()

    assert "database is locked" not in text
    assert "SIGKILL" not in text
    assert "Traceback" not in text
    assert "Content-Transfer-Encoding" not in text  # no email in the terminal
    assert stop_took < 30, stop_took  # honcho's grace before SIGKILL (bin/run sets 30 s)
    stopped = dict(STOPPED.findall(text))
    assert set(stopped) == {"web", "worker", "beat", "ready"}, stopped
    # The web server dies of the SIGTERM honcho sends; the others end on their own.
    assert {name: rc for name, rc in stopped.items() if name != "web"} == {
        "worker": "0",
        "beat": "0",
        "ready": "0",
    }
    assert _processes_with(marker) == []

    # Every email of the demo went to the Sent mail folder.
    with sqlite3.connect(f"file:{var_dir / 'msp.sqlite3'}?mode=ro", uri=True) as database:
        (emails,) = database.execute(
            "SELECT count(*) FROM msp_outboxmessage WHERE channel = 'email' AND status = 'sent'"
        ).fetchone()
    assert emails > 100
    assert len(os.listdir(var_dir / "sent-mail")) == emails
    print(
        f"bin/run: demo seeded after {seeded_after:.0f} s, ready after {ready_after:.0f} s "
        f"({emails} emails written), stopped in {stop_took:.1f} s"
    )


@pytest.mark.django_db
def test_the_logins_wait_for_the_beat_and_for_the_demos_emails():
    ready = DemoReady()
    assert ready._not_ready("http://127.0.0.1:9") == "failing checks: beat"
    heartbeat_record(name=BEAT_HEARTBEAT)
    OutboxMessage.objects.create(
        key="demo:1", channel=OutboxChannel.EMAIL, email="a@x.example", subject="S", body="B"
    )
    assert ready._not_ready("http://127.0.0.1:9") == "1 emails still to write"
    OutboxMessage.objects.update(status="sent", sent_at=timezone.now())
    # Then the web itself, which is not listening in this test.
    assert ready._not_ready("http://127.0.0.1:9").startswith("http://127.0.0.1:9/healthz: ")


def test_the_sign_in_line_comes_last_after_every_login(monkeypatch):
    monkeypatch.setenv("MSP_RUN_STARTED_AT", str(int(time.time()) - 75))
    out = io.StringIO()
    DemoReady(stdout=out)._greet("http://127.0.0.1:8000", ready=True)
    lines = out.getvalue().splitlines()
    assert re.fullmatch(r"Ready in 7\d s\. Open http://127\.0\.0\.1:8000 and sign in .*", lines[-1])
    assert [line.split()[0] for line in lines[1:-2]] == [login.email for login in demo_logins()]

    out = io.StringIO()
    DemoReady(stdout=out)._greet("http://127.0.0.1:8000", ready=False)
    assert out.getvalue().splitlines()[-1].startswith("Not all is well (see above). Open ")
