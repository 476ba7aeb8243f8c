"""Benchmark: the cost of live updates at 200 open browser tabs (issue 23, point 2).

    .venv/bin/python bench/live_updates.py                      # 200 tabs, 60 s, poll 10 s
    .venv/bin/python bench/live_updates.py --tabs 200 --seconds 60 --poll 10 --workers 4

Runs the app under gunicorn (sync workers, the deployment's server) on a separate PostgreSQL
database (msp_bench_live, migrated and seeded once: 20 technicians, 60 open tickets), then
fires `--tabs` concurrent pollers (threads with requests, one signed-in session each): three in
four are ticket pages polling /workspace/tickets/<id>/live/, one in four a queue polling its
results (/workspace/tickets/live/), each every `--poll` seconds as static/js/live.js does
(If-None-Match with the last ETag). Meanwhile a writer adds a note to a random ticket every
`--change-every` seconds, so some polls find a change. Prints requests/s, p50/p95 latency, the
share of 304 answers, SQL queries per poll and server time per poll (measured in-process with
the Django test client: unchanged and changed) and the CPU the gunicorn processes used.
"""

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from records import record  # noqa: E402 - after the path is set

DATABASE = "msp_bench_live"
TECHNICIANS = 20
TICKETS = 60


def configure() -> dict:
    env = {
        "DJANGO_SETTINGS_MODULE": "msp.settings.dev",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        "DATABASE_CONN_MAX_AGE": "60",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "SESSION_COOKIE_SECURE": "false",
    }
    os.environ.update(env)
    import django

    django.setup()
    return env


def ensure_database() -> None:
    import psycopg2

    admin = psycopg2.connect("postgres://postgres@127.0.0.1:5432/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{DATABASE}"')
    admin.close()


def migrate_and_seed() -> tuple[list, list]:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from msp.choices import Tier, UserRole
    from msp.models import Client, Contact, Team, User
    from sla.services import default_policy_ensure
    from tickets import services
    from tickets.models import Ticket

    default_policy_ensure()
    team, _ = Team.objects.get_or_create(
        name="Bench desk", defaults={"serves_all_clients": True, "tier": Tier.L1}
    )
    users = []
    for index in range(TECHNICIANS):
        user, made = User.objects.get_or_create(
            email=f"bench-tech-{index}@msp.example",
            defaults={"full_name": f"Bench Tech {index}", "role": UserRole.TECHNICIAN},
        )
        if made:
            team.members.add(user)
        users.append(user)
    client, _ = Client.objects.get_or_create(slug="bench-client", defaults={"name": "Bench Client"})
    contact, _ = Contact.objects.get_or_create(
        client=client, email="pat@bench.example", defaults={"full_name": "Pat Bench"}
    )
    tickets = list(Ticket.objects.filter(client=client).open().order_by("pk")[:TICKETS])
    for index in range(len(tickets), TICKETS):
        tickets.append(
            services.ticket_open(client=client, contact=contact, subject=f"Bench ticket {index}")
        )
    return users, tickets


def session_cookies(users) -> list[str]:
    """One signed-in session per technician (as a browser holds after signing in)."""
    from django.test import Client as HttpClient

    cookies = []
    for user in users:
        http = HttpClient()
        http.force_login(user)
        cookies.append(http.cookies["sessionid"].value)
    return cookies


def queries_per_poll(user, ticket) -> dict:
    """SQL queries of one poll, unchanged (304) and changed (200), in-process."""
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from tickets import services

    http = HttpClient()
    http.force_login(user)
    counts, server_ms = {}, {}
    for name, url, headers in (
        ("ticket", reverse("tickets:live", args=[ticket.pk]), {}),
        ("queue", reverse("tickets:queue-live"), {"HTTP_HX_TARGET": "queue-results"}),
    ):
        etag = http.get(url, HTTP_HX_REQUEST="true", **headers)["ETag"]
        with CaptureQueriesContext(connection) as captured:
            answer = http.get(url, HTTP_HX_REQUEST="true", HTTP_IF_NONE_MATCH=etag, **headers)
        unchanged = len(captured)  # now: the next request empties the connection's log
        timings = []
        for _ in range(100):
            began = time.perf_counter()
            http.get(url, HTTP_HX_REQUEST="true", HTTP_IF_NONE_MATCH=etag, **headers)
            timings.append((time.perf_counter() - began) * 1000)
        server_ms[name] = statistics.median(timings)
        if answer.status_code != 304:
            raise SystemExit(f"{name}: an unchanged poll answered {answer.status_code}")
        services.ticket_change_priority(
            ticket=ticket,
            actor=user,
            impact=random.choice(["low", "medium"]),
            urgency="medium",
            priority=None,
            reason="bench",
        )
        with CaptureQueriesContext(connection) as captured:
            answer = http.get(url, HTTP_HX_REQUEST="true", HTTP_IF_NONE_MATCH=etag, **headers)
        changed = len(captured)
        if answer.status_code != 200:
            raise SystemExit(f"{name}: a changed poll answered {answer.status_code}")
        timings = []
        for _ in range(20):
            began = time.perf_counter()
            http.get(url, HTTP_HX_REQUEST="true", **headers)
            timings.append((time.perf_counter() - began) * 1000)
        counts[name] = (unchanged, changed, server_ms[name], statistics.median(timings))
    return counts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return total


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
            if parent == pid:
                found.append(int(entry.name))
    return found


def start_gunicorn(env: dict, port: int, workers: int, poll: int) -> subprocess.Popen:
    process = subprocess.Popen(  # noqa: S603 - a fixed command line
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "msp.wsgi",
            f"--workers={workers}",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
            "--timeout=60",
        ],
        cwd=ROOT,
        env={**os.environ, **env, "LIVE_POLL_SECONDS": str(poll)},
        start_new_session=True,
    )
    import requests

    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=1)
            return process
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def run(args) -> None:
    env = configure()
    ensure_database()
    users, tickets = migrate_and_seed()
    cookies = session_cookies(users)
    counts = queries_per_poll(users[0], tickets[0])
    port = free_port()
    server = start_gunicorn(env, port, args.workers, args.poll)
    base = f"http://127.0.0.1:{port}"

    import requests

    results: list[tuple[float, int, str]] = []  # (seconds, status, kind)
    lock = threading.Lock()
    started = threading.Event()

    def open_tab(index: int) -> dict:
        """A tab as it is once open: its session, what it polls, the ETag of what it shows
        (the ticket page carries it; a queue's first poll gets it). Opening is not counted."""
        session = requests.Session()
        session.cookies.set("sessionid", cookies[index % len(cookies)], domain="127.0.0.1")
        session.headers.update({"HX-Request": "true"})
        if index % 4 == 3:
            kind, url = "queue", f"{base}/workspace/tickets/live/?queue=all_open"
            session.headers["HX-Target"] = "queue-results"
        else:
            kind = "ticket"
            url = f"{base}/workspace/tickets/{tickets[index % len(tickets)].pk}/live/"
        etag = session.get(url, timeout=120).headers.get("ETag")
        return {"session": session, "kind": kind, "url": url, "etag": etag}

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        tabs = list(pool.map(open_tab, range(args.tabs)))
    stop = time.monotonic() + args.poll + args.seconds  # the first poll comes within a period

    def tab(index: int) -> None:
        state = tabs[index]
        session, kind, url, etag = state["session"], state["kind"], state["url"], state["etag"]
        started.wait()
        time.sleep(random.uniform(0, args.poll))  # tabs opened at different moments
        while time.monotonic() < stop:
            began = time.monotonic()
            headers = {"If-None-Match": etag} if etag else {}
            try:
                answer = session.get(url, headers=headers, timeout=30, allow_redirects=False)
                status = answer.status_code
                etag = answer.headers.get("ETag", etag)
            except requests.RequestException:
                status = 0
            took = time.monotonic() - began
            with lock:
                results.append((took, status, kind))
            time.sleep(max(0.0, args.poll - took))

    def writer() -> None:
        from django.db import close_old_connections

        from tickets import services

        started.wait()
        while time.monotonic() < stop:
            time.sleep(args.change_every)
            services.ticket_note(
                ticket=random.choice(tickets), author=random.choice(users), body="bench note"
            )
        close_old_connections()

    gunicorn_pids = [server.pid, *children(server.pid)]
    threads = [threading.Thread(target=tab, args=(i,), daemon=True) for i in range(args.tabs)]
    threads.append(threading.Thread(target=writer, daemon=True))
    for thread in threads:
        thread.start()
    cpu_before, wall_before = cpu_seconds(gunicorn_pids), time.monotonic()
    started.set()
    for thread in threads:
        thread.join(timeout=args.seconds + 60)
    wall = time.monotonic() - wall_before
    cpu = cpu_seconds(gunicorn_pids) - cpu_before
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)

    latencies = sorted(took * 1000 for took, _, _ in results)
    statuses = [status for _, status, _ in results]
    not_modified = statuses.count(304) / len(statuses)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"tabs {args.tabs} ({args.tabs - args.tabs // 4} ticket pages, {args.tabs // 4} queues),")
    print(f"poll every {args.poll} s, {wall:.0f} s, gunicorn {args.workers} sync workers")
    print(f"load average    {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
    print(f"requests        {len(results)} ({len(results) / wall:.1f}/s)")
    print(f"latency         p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms")
    print(f"304 share       {not_modified:.1%}")
    print(f"errors          {sum(1 for s in statuses if s not in (200, 304))}")
    for name, (unchanged, changed, ms_304, ms_200) in counts.items():
        print(f"queries/poll    {name}: {unchanged} unchanged (304), {changed} changed (200)")
        print(
            f"server time     {name}: {ms_304:.1f} ms per 304, {ms_200:.1f} ms per 200 "
            "(in-process, p50, no network)"
        )
    print(
        f"gunicorn CPU    {cpu:.1f} s over {wall:.0f} s = {cpu / wall:.2f} cores "
        f"({cpu / max(1, len(results)) * 1000:.2f} ms per poll)"
    )
    record(
        "live poll, 200 tabs",
        p50_ms=statistics.median(latencies),
        p95_ms=p95,
        queries=f"{counts['ticket'][0]}/{counts['ticket'][1]}",
        throughput=len(results) / wall,
        unit="polls/s",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tabs", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--poll", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--change-every", type=float, default=2.0)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
