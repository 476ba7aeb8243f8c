"""Benchmark: the REST API and intake at 100,000 and 1,000,000 tickets.

    .venv/bin/python bench/api.py --tickets 100000
    .venv/bin/python bench/api.py --tickets 1000000

Uses the workspace benchmark's database (msp_bench_<N>, seeded on first use with COPY; see
bench/tickets_workspace.py), starts gunicorn on loopback (2 sync workers, the machine has 2
cores) and measures, over real HTTP with a read/write token:
- the ticket list (p50/p95 of full requests) and its SQL queries per request at page sizes
  10, 50 and 200 (counted in-process);
- ticket creation through the API with two and with four concurrent clients (clocks and
  timeline included), and its SQL queries per request (counted in-process);
- alert intake with deduplication, one alert per request (two concurrent senders, 200
  fingerprints, most deliveries repeats);
- alert intake in groups, as Alertmanager sends them (50 alerts per webhook POST, two
  concurrent senders): groups of new alerts (each opens a ticket; spread over 50 clients, two
  per client and group, so that storms group them as they would), then the same groups again
  (every alert a repeat); with their SQL queries per request (counted in-process);
- emails parsed per second (pure parsing of the test suite's messages, one core).

Ticket creation alone: `--creates-only` (over HTTP, with the gunicorn workers' CPU time per
create, which holds on a machine busy with other work); `--in-process N --seconds 0` times N
creates in this process (CPU ms per create, one kept connection), `--profile FILE` with
cProfile's stats of them (CPU time).
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import tickets_workspace as workspace  # noqa: E402 - after the path is set
from records import latency as latency_record  # noqa: E402
from records import record  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(
    database: str, port: int, conn_max_age: int = 0, workers: int = 2
) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "msp.settings.dev",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "DATABASE_CONN_MAX_AGE": str(conn_max_age),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "API_THROTTLE_RATE": "100000000/min",
        "API_ALERT_THROTTLE_RATE": "100000000/min",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(  # noqa: S603 - our own server
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "msp.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def request(port: int, method: str, path: str, token: str, body=None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    payload = None
    if body is not None:
        payload = json.dumps(body)
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def path_of(paths: list[str], index: int) -> str:
    return paths[index % len(paths)]


def latency(label: str, port: int, token: str, paths: list[str], requests: int) -> dict:
    for path in paths[:3]:
        request(port, "GET", path, token)  # warm both workers
    timings = []
    for index in range(requests):
        started = time.perf_counter()
        code, _ = request(port, "GET", paths[index % len(paths)], token)
        timings.append((time.perf_counter() - started) * 1000)
        if code != 200:
            raise SystemExit(f"{path_of(paths, index)} answered {code}")
    measured = latency_record(label, timings)
    print(f"  {label:<44} p50 {measured['p50_ms']:6.1f} ms   p95 {measured['p95_ms']:6.1f} ms")
    return measured


def queries_per_list(token: str) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get("/api/v1/tickets/")
    measured = []
    for size in (10, 50, 200):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/api/v1/tickets/?page_size={size}&status=new")
        rows = len(response.json()["results"])
        print(f"  ticket list, page size {size:>3}: {len(captured)} SQL queries ({rows} rows)")
        measured.append(
            record(f"ticket list, page size {size} (in-process)", queries=len(captured), rows=rows)
        )
    return measured


def concurrently(workers: int, seconds: float, work) -> int:
    """Run work(worker_index, n) in threads for `seconds`; return how many calls succeeded."""
    done = [0] * workers
    stop = time.monotonic() + seconds

    def loop(index: int) -> None:
        n = 0
        while time.monotonic() < stop:
            if work(index, n):
                done[index] += 1
            n += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done)


def queries_per_create(token: str, client_id: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = {"client": client_id, "subject": "Bench warm-up", "impact": "medium"}
    client.post("/api/v1/tickets/", body, format="json")
    with CaptureQueriesContext(connection) as captured:
        client.post("/api/v1/tickets/", {**body, "subject": "Bench count"}, format="json")
    return len([q for q in captured if q["sql"] not in ("BEGIN", "COMMIT")])


def creates_in_process(token: str, client_ids: list[int], count: int, profile: str = "") -> dict:
    """Ticket creation through the API in this process (the test client, one persistent
    connection): CPU and wall milliseconds per create, so that a change can be judged on a
    machine shared with other work. With `profile`, cProfile's stats go to that file."""
    import cProfile

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    # One connection kept across requests, as a deployment with DATABASE_CONN_MAX_AGE does:
    # what is measured is the create, not the connection's set-up.
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 600
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    run = f"{time.time():.0f}"

    def body(n: int) -> dict:
        return {
            "client": client_ids[n % len(client_ids)],
            "subject": f"In-process bench {run}-{n}",
            "impact": "medium",
            "urgency": "high",
        }

    for n in range(20):  # warm caches, imports and the connection
        client.post("/api/v1/tickets/", body(n), format="json")
    with CaptureQueriesContext(connection) as captured:
        client.post("/api/v1/tickets/", body(20), format="json")
    queries = len([q for q in captured if q["sql"] not in ("BEGIN", "COMMIT")])
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU time
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for n in range(count):
        if client.post("/api/v1/tickets/", body(21 + n), format="json").status_code != 201:
            raise SystemExit("a create failed")
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    cpu_ms = (time.process_time() - cpu) * 1000 / count
    wall_ms = (time.perf_counter() - wall) * 1000 / count
    print(
        f"  ticket creation in-process: {cpu_ms:.2f} ms CPU, {wall_ms:.2f} ms wall a create "
        f"({queries} queries, {count} creates)"
    )
    return record(
        "ticket creation (in-process, CPU ms)", p50_ms=cpu_ms, queries=queries, rows=count
    )


def actions_in_process(tokens: dict[str, str], client_ids: list[int], count: int) -> list[dict]:
    """A ticket's read, a reply and a status change through the API in this process, for each
    user of `tokens` (a technician of every client, one of half of them): CPU milliseconds and
    SQL queries per request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 600
    requests = {
        "ticket read": lambda api, pk: api.get(f"/api/v1/tickets/{pk}/"),
        "reply": lambda api, pk: api.post(
            f"/api/v1/tickets/{pk}/reply/", {"body": "Looking into it."}, format="json"
        ),
        "status change": lambda api, pk: api.post(
            f"/api/v1/tickets/{pk}/status/", {"status": "in_progress"}, format="json"
        ),
    }
    measured = []
    for who, token in tokens.items():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        tickets = []
        for n in range(count + 5):
            body = {"client": client_ids[n % len(client_ids)], "subject": f"Actions {n}"}
            tickets.append(api.post("/api/v1/tickets/", body, format="json").json()["id"])
        for label, send in requests.items():
            for pk in tickets[:5]:  # warm
                send(api, pk)
            with CaptureQueriesContext(connection) as captured:
                send(api, tickets[5])
            queries = len([q for q in captured if q["sql"] not in ("BEGIN", "COMMIT")])
            cpu = time.process_time()
            for pk in tickets[6:]:
                response = send(api, pk)
                if response.status_code not in (200, 201):
                    raise SystemExit(f"{label} failed: {response.status_code} {response.content}")
            cpu_ms = (time.process_time() - cpu) * 1000 / (len(tickets) - 6)
            print(f"  {label} ({who}), in-process: {cpu_ms:.2f} ms CPU, {queries} queries")
            measured.append(
                record(f"{label} ({who}, in-process, CPU ms)", p50_ms=cpu_ms, queries=queries)
            )
    return measured


GROUP_SIZE = 50


def alertmanager_group(clients: list[str], prefix: str) -> dict:
    """One Alertmanager webhook: GROUP_SIZE alerts, two for each of the given clients."""
    alerts = []
    for index in range(GROUP_SIZE):
        name = f"{prefix}-{index}"
        labels = {
            "alertname": "DiskFull",
            "severity": "warning",
            "client": clients[index % len(clients)],
            "mountpoint": f"/data{index}",
        }
        alerts.append(
            {
                "labels": labels,
                "annotations": {"summary": f"Disk /data{index} full"},
                "fingerprint": name,
            }
        )
    return {"version": "4", "status": "firing", "alerts": alerts}


def alert_groups(port: int, token: str, client_ids: list[int], seconds: float) -> list[dict]:
    """New alerts, then repeats, GROUP_SIZE per request, two senders."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from msp.models import Client

    slugs = list(
        Client.objects.filter(pk__in=client_ids).order_by("pk").values_list("slug", flat=True)
    )
    run = f"{time.time():.0f}"
    sent: list[dict] = []
    path = "/api/v1/alerts/alertmanager/"

    def group_of(worker: int, n: int) -> dict:
        clients = [slugs[(worker * 13 + n * 25 + k) % len(slugs)] for k in range(GROUP_SIZE // 2)]
        return alertmanager_group(clients, f"bench-{run}-{worker}-{n}")

    def new(worker: int, n: int) -> bool:
        body = group_of(worker, n)
        code, data = request(port, "POST", path, token, body)
        if code != 202:
            return False
        sent.append(body)
        return all(r["action"] == "opened" for r in json.loads(data)["results"])

    def repeat(worker: int, n: int) -> bool:
        body = sent[(worker * 7 + n) % len(sent)]
        code, data = request(port, "POST", path, token, body)
        return code == 202 and all(r["action"] == "repeated" for r in json.loads(data)["results"])

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    counted = {}
    for label, body in (("new", group_of(99, 0)), ("repeat", group_of(99, 0))):
        with CaptureQueriesContext(connection) as captured:
            api.post(path, body, format="json")
        counted[label] = len([q for q in captured if q["sql"] not in ("BEGIN", "COMMIT")])

    measured = []
    for label, work in (("new alerts", new), ("repeats", repeat)):
        groups = concurrently(2, seconds, work)
        rate = groups * GROUP_SIZE / seconds
        queries = counted["new" if work is new else "repeat"]
        print(
            f"  alert groups of {GROUP_SIZE}, {label}, 2 senders: {rate:,.0f} alerts/s "
            f"({groups / seconds:,.1f} requests/s, {queries} queries each)"
        )
        measured.append(
            record(
                f"alert groups of {GROUP_SIZE}, {label}, 2 senders",
                queries=queries,
                rows=groups * GROUP_SIZE,
                throughput=rate,
                unit="alerts/s",
            )
        )
    return measured


def workers_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time (user and system) used so far by gunicorn's workers: what a request costs the
    app, whatever else the machine is doing (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == server.pid:  # the parent's pid
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def creations(
    port: int, token: str, client_ids: list[int], seconds: float, server: subprocess.Popen
) -> list[dict]:
    """Ticket creation over HTTP with two and with four concurrent clients, with the workers'
    CPU time per create (the figure to compare on a machine shared with other work)."""

    def create(worker: int, n: int) -> bool:
        body = {
            "client": client_ids[(worker * 7 + n) % len(client_ids)],
            "subject": f"Bench ticket {worker}-{n}",
            "impact": "medium",
            "urgency": "high",
        }
        return request(port, "POST", "/api/v1/tickets/", token, body)[0] == 201

    def no_op(worker: int, n: int) -> bool:
        return request(port, "GET", "/api/v1/priority-matrix/", token)[0] == 200

    create_queries = queries_per_create(token, client_ids[0])
    # Every worker past its first requests (imports, URLconf, queries compiled once).
    concurrently(4, 2.0, create)
    measured = []
    # The ceiling: an authenticated request that reads nine rows and writes nothing, through
    # the same server, middleware, authentication and client.
    for workers in (2, 4):
        answered = concurrently(workers, seconds / 2, no_op)
        rate = answered / (seconds / 2)
        print(f"  authenticated no-op (priority matrix), {workers} clients: {rate:,.0f}/s")
        measured.append(
            record(
                f"authenticated no-op (priority matrix), {workers} clients",
                rows=answered,
                throughput=rate,
                unit="requests/s",
            )
        )
    for workers in (2, 4):
        cpu = workers_cpu_seconds(server)
        created = concurrently(workers, seconds, create)
        cpu_ms = (workers_cpu_seconds(server) - cpu) * 1000 / max(created, 1)
        print(
            f"  ticket creation, {workers} clients: {created / seconds:,.0f}/s "
            f"({create_queries} queries each; workers' CPU {cpu_ms:.1f} ms a create)"
        )
        measured.append(
            record(
                f"ticket creation, {workers} clients",
                queries=create_queries,
                rows=created,
                throughput=created / seconds,
                unit="tickets/s",
            )
        )
    return measured


def emails_per_second() -> dict:
    from tickets.intake.email_parse import UnreadableEmail, parse_email

    messages = []
    for path in sorted((ROOT / "tests/tickets/emails").glob("*.eml")):
        try:  # the corpus holds unreadable mail too (quarantined, not parsed): left out
            parse_email(path.read_bytes())
        except UnreadableEmail:
            continue
        messages.append(path.read_bytes())
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < 5:
        for raw in messages:
            parse_email(raw)
            count += 1
    rate = count / (time.perf_counter() - started)
    print(f"  emails parsed: {rate:,.0f}/s (one core, {len(messages)} kinds of message)")
    return record("emails parsed (one core)", throughput=rate, unit="emails/s")


def _technician_of_half_the_clients():
    """A technician whose one team serves every other client (kept for later runs)."""
    from msp.choices import UserRole
    from msp.models import Client, Team, User

    technician, made = User.objects.get_or_create(
        email="tech-half@bench.msp",
        defaults={"full_name": "Half Clients", "role": UserRole.TECHNICIAN, "tier": "L1"},
    )
    if made:
        team = Team.objects.create(name="Bench half", tier="L1", serves_all_clients=False)
        team.clients.set(Client.objects.order_by("pk")[::2])
        team.members.add(technician)
    return technician


def run(
    *,
    tickets: int = 100_000,
    requests: int = 300,
    seconds: float = 20,
    conn_max_age: int = 0,
    workers: int = 2,
    creates_only: bool = False,
    in_process: int = 0,
    profile: str = "",
) -> list[dict]:
    """Measure the API over HTTP; print the figures as they come and return them as records.
    `creates_only`: ticket creation alone; `in_process`: that many creates measured in this
    process first (CPU per create, see creates_in_process)."""
    # The in-process requests are many per token and minute: no throttle, as for gunicorn.
    os.environ.setdefault("API_THROTTLE_RATE", "100000000/min")
    database = workspace.open_database(tickets, conn_max_age=conn_max_age)

    from msp.models import Asset, Client, User
    from msp.services import api_token_create
    from tickets.models import Ticket

    technician = User.objects.get(email="tech-l1-0@bench.msp")
    _, token = api_token_create(user=technician, name="bench", scope="write")
    print(f"{Ticket.objects.count():,} tickets in {database}")
    client_ids = list(Client.objects.order_by("pk").values_list("pk", flat=True)[:50])
    measured = []
    if in_process:
        measured.append(creates_in_process(token, client_ids, in_process, profile))
        half = _technician_of_half_the_clients()
        _, half_token = api_token_create(user=half, name="bench", scope="write")
        tokens = {"every client": token, "250 of 500 clients": half_token}
        measured += actions_in_process(tokens, client_ids[::2], in_process)
    if seconds <= 0:  # in-process only
        return measured
    if not creates_only:
        measured += queries_per_list(token)

    port = free_port()
    server = start_gunicorn(database, port, conn_max_age, workers)
    try:
        if creates_only:
            return measured + creations(port, token, client_ids, seconds, server)
        print("Ticket list over HTTP (gunicorn, 2 workers, loopback, one client at a time):")
        lists = [
            ("newest 50", ["/api/v1/tickets/"]),
            ("open, status=new, 50", ["/api/v1/tickets/?status=new"]),
            (
                "one client's tickets, 50 (50 clients)",
                [f"/api/v1/tickets/?client={pk}" for pk in client_ids],
            ),
            (
                "changed in the last hour (polling)",
                ["/api/v1/tickets/?updated_since=2026-11-22T00:00:00Z"],
            ),
        ]
        measured += [latency(label, port, token, paths, requests) for label, paths in lists]
        measured += creations(port, token, client_ids, seconds, server)

        assets = list(
            Asset.objects.filter(client_id__in=client_ids)
            .exclude(hostname="")
            .values_list("hostname", flat=True)[:200]
        )
        _, alert_token = api_token_create(user=technician, name="bench rmm", scope="alerts")
        fingerprints = [f"bench-{index}" for index in range(200)]

        def alert(worker: int, n: int) -> bool:
            index = (worker * 101 + n) % len(fingerprints)
            body = {
                "source": "bench",
                "fingerprint": fingerprints[index],
                "severity": "warning",
                "summary": f"Disk space low on {assets[index % len(assets)]}",
                "host": assets[index % len(assets)],
            }
            return request(port, "POST", "/api/v1/alerts/", alert_token, body)[0] == 202

        received = concurrently(2, seconds, alert)
        print(
            f"  alert intake, 2 senders, 200 fingerprints: {received / seconds:,.0f}/s "
            f"({Ticket.objects.filter(source='alert', subject__startswith='Disk space').count()}"
            " tickets in all)"
        )
        measured.append(
            record(
                "alert intake, 2 senders, 200 fingerprints",
                rows=received,
                throughput=received / seconds,
                unit="alerts/s",
            )
        )
        measured += alert_groups(port, alert_token, client_ids, seconds)
    finally:
        server.terminate()
        server.wait(timeout=10)
    measured.append(emails_per_second())
    return measured


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=0,
        help="seconds gunicorn's workers keep their database connection (0: one per request)",
    )
    parser.add_argument(
        "--creates-only", action="store_true", help="measure ticket creation alone over HTTP"
    )
    parser.add_argument(
        "--in-process",
        type=int,
        default=0,
        metavar="N",
        help="first time N creates in this process (CPU ms per create)",
    )
    parser.add_argument("--profile", default="", help="cProfile stats of the in-process creates")
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn sync workers (2: the peer comparison)"
    )
    options = parser.parse_args()
    run(
        tickets=options.tickets,
        requests=options.requests,
        seconds=options.seconds,
        conn_max_age=options.conn_max_age,
        workers=options.workers,
        creates_only=options.creates_only,
        in_process=options.in_process,
        profile=options.profile,
    )


if __name__ == "__main__":
    main()
