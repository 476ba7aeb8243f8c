"""Benchmark: search everywhere (tickets/search.py) at 100,000 and 1,000,000 tickets.

    nice -n 5 .venv/bin/python bench/search.py --tickets 100000
    nice -n 5 .venv/bin/python bench/search.py --tickets 1000000 --requests 100

Uses the workspace bench's database (bench/tickets_workspace.py: msp_bench_<N>, seeded once
and kept, never seeded here: a missing database is an error; 500 clients, 22 words in every
subject and description, a reply and a note on every ticket), and adds to it, once: the search
vectors of rows that have none (a database filled before migration 0028's triggers, in
committed batches, then ANALYZE), rare words (in 20 tickets' descriptions and 20 notes), a
technician whose team serves 50 of the 500 clients, and a client user. Then measures
in-process server time (Django test client, no network, a kept connection) of the results
page and the typeahead for common words (of tickets, and of replies and notes), rare words,
a word found nowhere and ticket numbers, as a technician who sees every client, the scoped
technician and the client user: p50, p95, the database's share of p50 and SQL queries per
request. EXPLAIN shows how PostgreSQL reads the tickets and comments of each kind of search.
"""

import argparse
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from records import latency  # noqa: E402 - after the path is set
from tickets_workspace import open_database  # noqa: E402

RARE_TICKET_WORD = "zeppelin"  # in 20 tickets' descriptions
RARE_NOTE_WORD = "kerfuffle"  # in 20 internal notes
NO_HIT = "quokka"  # in nothing at all
SCOPED_CLIENTS = 50
BACKFILL_BATCH = 5_000


def vectors_ensure() -> None:
    """Fill the search vectors of rows that have none, as migration 0028 does (batches by id,
    each committed): a bench database copied in before the triggers existed. Then ANALYZE,
    whose statistics tickets/search.py reads to tell common words from rare ones."""
    from django.db import connection, transaction

    for table, of in (
        ("tickets_ticket", "subject, description"),
        ("tickets_comment", "body"),
    ):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT min(id), max(id) FROM {table} WHERE search_vector IS NULL")
            first, last = cursor.fetchone()
            analyzed = _analyzed(cursor, table)
        if first is not None:
            print(f"  filling the search vectors of {table} ({first:,}..{last:,})", flush=True)
            for start in range(first, last + 1, BACKFILL_BATCH):
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {table} SET search_vector = {table}_search_vector_of({of})"
                        " WHERE id >= %s AND id < %s AND search_vector IS NULL",
                        [start, start + BACKFILL_BATCH],
                    )
        if first is not None or not analyzed:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {table}")


def _analyzed(cursor, table: str) -> bool:
    cursor.execute(
        "SELECT 1 FROM pg_stats WHERE schemaname = current_schema() AND tablename = %s"
        " AND attname = 'search_vector' AND most_common_elems IS NOT NULL",
        [table],
    )
    return cursor.fetchone() is not None


def prepare() -> dict:
    """The rare words and the people of the bench, added once to the seeded database."""
    from django.db import connection

    from msp.choices import UserRole
    from msp.models import Client, Team, User
    from tickets.models import Comment, Ticket

    rng = random.Random(7)
    last = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first()
    if not Ticket.objects.filter(description__contains=RARE_TICKET_WORD).exists():
        picked = rng.sample(range(1, last + 1), 20)
        with connection.cursor() as cursor:
            # Through the trigger, as any change to a ticket's text.
            cursor.execute(
                "UPDATE tickets_ticket SET description = description || %s WHERE id = ANY(%s)",
                [f" The {RARE_TICKET_WORD} sensor is offline.", picked],
            )
            notes = list(
                Comment.objects.filter(ticket_id__in=rng.sample(range(1, last + 1), 20))
                .filter(is_public=False)
                .values_list("pk", flat=True)
            )
            cursor.execute(
                "UPDATE tickets_comment SET body = body || %s WHERE id = ANY(%s)",
                [f" A {RARE_NOTE_WORD} with the vendor.", notes],
            )
            cursor.execute("ANALYZE tickets_ticket")
            cursor.execute("ANALYZE tickets_comment")
    clients = list(Client.objects.order_by("pk")[:SCOPED_CLIENTS])
    team, created = Team.objects.get_or_create(name="Bench search pod", defaults={"tier": "L1"})
    if created:
        team.clients.set(clients)
    scoped = User.objects.filter(email="search-tech@bench.msp").first()
    if scoped is None:
        scoped = User.objects.create_user(
            "search-tech@bench.msp",
            "bench-password-1",
            full_name="Scoped Tech",
            role=UserRole.TECHNICIAN,
            tier="L1",
        )
        team.members.add(scoped)
    client = clients[SCOPED_CLIENTS // 2]
    portal = User.objects.filter(email="search-client@bench.msp").first()
    if portal is None:
        portal = User.objects.create_user(
            "search-client@bench.msp",
            "bench-password-1",
            full_name="Portal User",
            role=UserRole.CLIENT,
            client=client,
        )
    return {
        "everyone": User.objects.get(email="tech-l1-0@bench.msp"),
        "scoped": scoped,
        "portal": portal,
        "last": last,
        "their_tickets": list(
            Ticket.objects.filter(client=client).order_by("?").values_list("pk", flat=True)[:20]
        ),
        "scoped_tickets": list(
            Ticket.objects.filter(client__in=clients)
            .order_by("?")
            .values_list("pk", flat=True)[:20]
        ),
    }


def measure(label: str, http, urls: list[str], requests: int, status: int = 200) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for url in urls:  # warm caches, as a running server has them
        http.get(url)
    timings, database, queries = [], [], set()
    for index in range(requests):
        url = urls[index % len(urls)]
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = http.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != status:
            raise SystemExit(f"{url} answered {response.status_code}")
        queries.add(len(captured))
        database.append(sum(float(query["time"]) for query in captured.captured_queries) * 1000)
    measured = latency(label, timings, queries="/".join(str(q) for q in sorted(queries)))
    print(
        f"  {label:46} p50 {measured['p50_ms']:7.1f} ms   p95 {measured['p95_ms']:7.1f} ms   "
        f"(SQL p50 {statistics.median(database):5.1f} ms)   queries {measured['queries']}",
        flush=True,
    )
    return measured


def explain(user, text: str, label: str) -> None:
    """How the ticket and comment matches of one search are read, as tickets/search.py reads
    them (the GIN index for rare words; the newest, for common words or when the GIN index
    found more than CANDIDATES, in order, by scope or by word), and how long each read takes."""
    from django.db import connection, transaction

    from tickets import search

    terms = search.Terms.parse(text)
    tickets, comments = search._sources(user)
    query = search.SearchQuery(search.tsquery(terms), config=search.CONFIG, search_type="raw")
    for table, queryset, vector, newest, columns in (
        ("tickets_ticket", tickets, search.TICKET_VECTOR, ("-created_at", "-pk"), ("pk",)),
        ("tickets_comment", comments, search.COMMENT_VECTOR, ("-pk",), ("ticket_id", "pk")),
    ):
        matches = (
            queryset.alias(vector=vector)
            .filter(vector=query)
            .annotate(rank=search.SearchRank(vector, query, cover_density=True, normalization=1))
            .values_list("pk", "rank")
        )
        steps = []
        with transaction.atomic(), connection.cursor() as cursor:
            shares = search._shares(cursor, terms)
            if shares is None:
                print(f"  plan {label:34} only stop words: nothing is read")
                return
            common = shares.common(table)
            found = search.CANDIDATES + 1
            if not common:
                probe = matches.order_by()[: search.CANDIDATES + 1]
                found = len(list(probe))
                steps.append(("GIN", probe.explain(analyze=True)))
            if found > search.CANDIDATES:
                size = {
                    "scope": search._scope(user, shares.clients),
                    "share": shares.share[table],
                    "rows": shares.rows[table],
                }
                way = search._newest_way(**size)
                cursor.execute(search._PLANNER, search.WAYS[way])
                if way == search.IN_ORDER:
                    cap, then = search._cap(search._newest_reads(**size))
                    sql, params = search._in_order(
                        queryset, vector, search.tsquery(terms), columns, newest, cap
                    )
                    cursor.execute("EXPLAIN ANALYZE " + sql, params)
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                    steps.append((f"newest {way} (at most {cap:,} rows, then {then})", plan))
                else:
                    newest_first = matches.order_by(*newest)[: search.CANDIDATES]
                    steps.append((f"newest {way}", newest_first.explain(analyze=True)))
            transaction.set_rollback(True)
        shown = []
        for step, plan in steps:
            took = next(line for line in plan.splitlines() if "Execution Time" in line)
            used = re.findall(r"Scan(?: Backward)? (?:using|on) (\w+)", plan)
            shown.append(f"{step} {took.split(':')[1].strip()} via {','.join(dict.fromkeys(used))}")
        kind = table.split("_")[1]
        print(f"  plan {label:34} {kind:7} {'common' if common else 'rare':6}: {' / '.join(shown)}")


def _seeded(tickets: int) -> bool:
    """Whether the workspace bench's database of this size exists (it is seeded there)."""
    import psycopg2

    admin = psycopg2.connect("postgres://postgres@127.0.0.1:5432/postgres")
    with admin, admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [f"msp_bench_{tickets}"])
        found = cursor.fetchone() is not None
    admin.close()
    return found


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def run(*, tickets: int = 100_000, requests: int = 100, conn_max_age: int = 600) -> list[dict]:
    if not _seeded(tickets):
        raise SystemExit(
            f"msp_bench_{tickets} does not exist: seed it with "
            f"bench/tickets_workspace.py --tickets {tickets}"
        )
    database = open_database(tickets, conn_max_age=conn_max_age)

    from django.test import Client as HttpClient

    from tickets.models import Comment, Ticket

    vectors_ensure()
    people = prepare()
    print(
        f"{Ticket.objects.count():,} tickets, {Comment.objects.count():,} replies and notes, "
        f"in {database}; {_load()}",
        flush=True,
    )
    explain(people["everyone"], "printer", "common word, every client")
    explain(people["everyone"], "printer vpn", "two common words")
    explain(people["everyone"], "checked logs", "common words of notes")
    explain(people["everyone"], RARE_TICKET_WORD, "rare word, every client")
    explain(people["everyone"], RARE_NOTE_WORD, "rare word in notes")
    explain(people["everyone"], NO_HIT, "no hit, every client")
    explain(people["scoped"], "printer", "common word, 50 clients")
    explain(people["scoped"], "checked logs", "common words of notes, 50 cl.")
    explain(people["scoped"], RARE_TICKET_WORD, "rare word, 50 clients")
    explain(people["portal"], "printer", "common word, one client")
    explain(people["portal"], "looking", "common word of replies, one cl.")
    explain(people["portal"], "checked logs", "words of notes only, one cl.")
    explain(people["portal"], RARE_TICKET_WORD, "rare word, one client")

    sessions = {}
    for key in ("everyone", "scoped", "portal"):
        sessions[key] = HttpClient()
        sessions[key].force_login(people[key])
    workspace, portal = "/workspace/search/", "/portal/search/"
    common = ["printer", "vpn password", "server backup", "outlook", "slow laptop"]
    # The seed's replies say "Looking into it now.", its notes "Checked the logs.".
    conversation = ["looking", "checked logs", "logs"]
    rare = [RARE_TICKET_WORD, RARE_NOTE_WORD]
    no_hit = [NO_HIT, f"printer {NO_HIT}", "nothing-like-this"]
    typed = ["pr", "prin", "vpn pa", "serv", "zep", "look"]
    rng = random.Random(3)
    numbers = [str(rng.randrange(1, people["last"])) for _ in range(20)]
    scoped_numbers = [str(pk) for pk in people["scoped_tickets"]]
    their_numbers = [str(pk) for pk in people["their_tickets"]]

    def urls(base: str, texts: list[str], prefix: str = "") -> list[str]:
        return [f"{base}?q={prefix}{text.replace(' ', '+')}" for text in texts]

    cases = [
        ("everyone", "search: common words", urls(workspace, common), 200),
        ("everyone", "search: words of replies and notes", urls(workspace, conversation), 200),
        ("everyone", "search: rare words", urls(workspace, rare), 200),
        ("everyone", "search: no hit", urls(workspace, no_hit), 200),
        ("everyone", "search: ticket number (jump)", urls(workspace, numbers, "T-"), 302),
        ("everyone", "search: number alone (jump)", urls(workspace, numbers), 302),
        ("everyone", "typeahead: as typed", urls(workspace + "suggestions/", typed), 200),
        ("everyone", "typeahead: ticket number", urls(workspace + "suggestions/", numbers), 200),
        ("scoped", "50 clients: common words", urls(workspace, common), 200),
        ("scoped", "50 clients: words of replies and notes", urls(workspace, conversation), 200),
        ("scoped", "50 clients: rare words", urls(workspace, rare), 200),
        ("scoped", "50 clients: no hit", urls(workspace, no_hit), 200),
        ("scoped", "50 clients: ticket number", urls(workspace, scoped_numbers, "%23"), 302),
        ("scoped", "50 clients: typeahead", urls(workspace + "suggestions/", typed), 200),
        ("portal", "portal: common words", urls(portal, common), 200),
        ("portal", "portal: words of replies and notes", urls(portal, conversation), 200),
        ("portal", "portal: rare words", urls(portal, rare), 200),
        ("portal", "portal: no hit", urls(portal, no_hit), 200),
        ("portal", "portal: ticket number", urls(portal, their_numbers), 302),
        ("portal", "portal: typeahead", urls(portal + "suggestions/", typed), 200),
    ]
    records = [
        measure(label, sessions[who], case_urls, requests, status)
        for who, label, case_urls, status in cases
    ]
    print(f"done; {_load()}", flush=True)
    return records


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=600,
        help="seconds to keep the database connection (0: one connection per request)",
    )
    options = parser.parse_args()
    run(tickets=options.tickets, requests=options.requests, conn_max_age=options.conn_max_age)


if __name__ == "__main__":
    main()
