"""Benchmark: the SLA risk page and its live poll (issue 23, point 7) on the workspace
benchmark's database (msp_bench_<N>, seeded on first use by bench/tickets_workspace.py).

    .venv/bin/python bench/sla_risk_poll.py --tickets 100000

Measures, in-process with the Django test client as a technician whose teams serve every
client: the whole page; the poll of its list when nothing changed (answered 304 from one
aggregate over the scope's open tickets: the fingerprint) and after a change (200, the list
rendered); the fingerprint query alone with its plan; and what 200 tabs polling every 15 s
cost in database time per second.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import tickets_workspace as workspace  # noqa: E402 - after the path is set
from records import record  # noqa: E402

URL = "/workspace/sla-risk/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def poll(http, etag: str | None):
    headers = dict(HTMX)
    if etag:
        headers["HTTP_IF_NONE_MATCH"] = etag
    return http.get(URL, **headers)


def timed(label: str, call, requests: int, status: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()  # warm
    timings, queries = [], set()
    for _ in range(requests):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = call()
            timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != status:
            raise SystemExit(f"{label}: {response.status_code}, expected {status}")
        queries.add(len(captured))
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(0.95 * (len(timings) - 1))]
    shown = "/".join(str(q) for q in sorted(queries))
    print(f"  {label:38} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   queries {shown}")
    return record(label, p50_ms=p50, p95_ms=p95, queries=shown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--tabs", type=int, default=200)
    parser.add_argument("--poll", type=float, default=15.0)
    args = parser.parse_args()
    workspace.open_database(args.tickets)

    from django.core.cache import cache
    from django.test import Client as HttpClient
    from django.utils import timezone

    from msp.models import User
    from reporting.selectors import sla_risk_fingerprint
    from tickets.models import Ticket

    user = User.objects.get(email="tech-l1-0@bench.msp")
    http = HttpClient()
    http.force_login(user)
    now = timezone.now()
    print(f"SLA risk at {Ticket.objects.count():,} tickets, {Ticket.objects.open().count():,} open")
    results = [timed("SLA risk page", lambda: http.get(URL), args.requests, 200)]
    etag = poll(http, None)["ETag"]
    unchanged = timed("poll, nothing changed (304)", lambda: poll(http, etag), args.requests, 304)
    results.append(unchanged)

    def unremembered():
        cache.clear()  # as when the fingerprint's few seconds in the cache are over
        return poll(http, etag)

    results.append(timed("poll, fingerprint read (304)", unremembered, args.requests, 304))

    def changed():
        ticket = Ticket.objects.open().order_by("?").first()
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
        cache.clear()
        return poll(http, etag)

    results.append(timed("poll after a change (200)", changed, args.requests // 4, 200))
    started = time.perf_counter()
    for _ in range(args.requests):
        sla_risk_fingerprint(tickets=Ticket.objects.for_user(user), now=now, day_start=now)
    alone = (time.perf_counter() - started) * 1000 / args.requests
    print(f"  the fingerprint query alone: {alone:.1f} ms")
    workspace.explain("the fingerprint", Ticket.objects.for_user(user).open().order_by())
    per_second = args.tabs / args.poll
    # Each scope's fingerprint is read once per SLA_RISK_FINGERPRINT_SECONDS (5 s), the other
    # polls of that scope find it in the cache.
    busy = per_second * unchanged["p50_ms"] / 1000 + alone / 1000 / 5
    print(
        f"  {args.tabs} tabs of one scope polling every {args.poll:g} s: {per_second:.1f} "
        f"polls/s, {busy:.2f} s of server time per second when nothing changes"
    )
    results.append(
        record(
            f"SLA risk: {args.tabs} tabs every {args.poll:g} s",
            throughput=per_second,
            unit="polls/s",
        )
    )


if __name__ == "__main__":
    main()
