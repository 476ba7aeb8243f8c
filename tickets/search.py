"""Search everywhere: one query over tickets (subject, description, replies and, for staff,
internal notes), clients, contacts and assets, within what the user may see.

Scope: every read goes through `for_user` (tickets and comments by their client; a technician
sees the clients their teams serve, a client user their own client). A client user searches
only their client's tickets, never internal notes, and no directory.

Tickets on PostgreSQL: full-text search on the stored vectors of tickets/migrations/0028 (the
subject weighs A, the description B, a reply or note C), through their GIN indexes. Up to
CANDIDATES matches of tickets and of comments are ranked by ts_rank_cd (a ticket's rank is its
own plus its best comment's), the newest (highest number) first among equals. A word found in
more than CANDIDATES tickets or comments ranks the newest CANDIDATES of them: that keeps a word
found in half a million tickets as fast as a rare one, whose ranking is complete. Elsewhere
(SQLite, the embedded demo) the same shape with LIKE: a subject match ranks above a description
match, above a comment match.

A ticket number ("T-1234", "#1234", "1234") of a ticket the user sees is a jump to it.

A search costs the same few queries however many rows it finds: the planner settings, the
tickets and the comments (and the settings and the newest of them again, when a source has
more than CANDIDATES matches; the settings twice when tickets and comments are read two
ways), the found tickets with their client, the comments quoted, then clients, contacts and
assets.
"""

import re
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import connections, transaction
from django.db.models import Case, F, FloatField, Q, QuerySet, TextField, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Concat
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from msp.models import Asset, Client, Contact, User
from tickets.models import Comment, Ticket
from tickets.querysets import TICKET_VECTOR

MAX_QUERY_LENGTH = 200
MAX_WORDS = 8
MIN_SUGGEST_LENGTH = 2
PREFIX_FROM = 3
CANDIDATES = 200  # the most recent matches of each source that are ranked
CONFIG = "english"  # the text search configuration of the stored vectors (migration 0028)

# "T-1234", "t1234", "#1234" or "1234": a ticket's number (its id).
TICKET_NUMBER = re.compile(r"^\s*(?:t-?\s*|#\s*)?(\d{1,18})\s*$", re.IGNORECASE)
# Letters and digits only: nothing a user types can be tsquery syntax.
WORD = re.compile(r"[^\W_]+")

COMMENT_VECTOR = RawSQL('"tickets_comment"."search_vector"', [], output_field=SearchVectorField())

# The ranks of the LIKE fallback, in the order of the full-text weights (A, B, C).
SUBJECT_RANK, DESCRIPTION_RANK, COMMENT_RANK = 1.0, 0.4, 0.2


@dataclass(frozen=True)
class Terms:
    """What was typed, as search terms."""

    text: str
    words: tuple[str, ...]
    number: int | None

    @classmethod
    def parse(cls, text: str) -> "Terms":
        text = (text or "").strip()[:MAX_QUERY_LENGTH]
        found = TICKET_NUMBER.match(text)
        number = int(found.group(1)) if found and int(found.group(1)) < 2**63 else None
        words = tuple(dict.fromkeys(word.lower() for word in WORD.findall(text)))[:MAX_WORDS]
        return cls(text=text, words=words, number=number)

    def __bool__(self) -> bool:
        return bool(self.words)


@dataclass
class TicketHit:
    ticket: Ticket
    rank: float
    found_in: str  # "subject", "description", "reply" or "internal note"
    snippet: SafeString


@dataclass
class SearchResults:
    terms: Terms
    jump: Ticket | None = None
    tickets: list[TicketHit] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    assets: list[Asset] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.tickets) + len(self.clients) + len(self.contacts) + len(self.assets)


def search_everything(
    *, user: User, text: str, limit: int = 20, directory_limit: int = 10
) -> SearchResults:
    """What `user` finds for `text`: the ticket its number names (and then nothing else), or
    the best `limit` tickets and (staff only) the best `directory_limit` clients, contacts and
    assets."""
    terms = Terms.parse(text)
    results = SearchResults(terms=terms)
    if terms.number is not None:
        results.jump = ticket_of_number(user=user, number=terms.number)
    if not terms or results.jump is not None:
        return results
    results.tickets = ticket_hits(user=user, terms=terms, limit=limit)
    if user.is_msp_staff:
        results.clients = list(client_hits(user=user, terms=terms)[:directory_limit])
        results.contacts = list(contact_hits(user=user, terms=terms)[:directory_limit])
        results.assets = list(asset_hits(user=user, terms=terms)[:directory_limit])
    return results


def ticket_of_number(*, user: User, number: int) -> Ticket | None:
    return Ticket.objects.for_user(user).select_related("client").filter(pk=number).first()


# Tickets


def _sources(user: User) -> tuple[QuerySet, QuerySet]:
    """The tickets and the comments `user` may find: internal notes for staff only."""
    comments = Comment.objects.for_user(user)
    if not user.is_msp_staff:
        comments = comments.filter(is_public=True)
    return Ticket.objects.for_user(user), comments


def ticket_hits(*, user: User, terms: Terms, limit: int) -> list[TicketHit]:
    tickets, comments = _sources(user)
    if connections[tickets.db].vendor == "postgresql":
        ticket_ranks, comment_ranks = fulltext_candidates(tickets, comments, terms, user=user)
    else:
        ticket_ranks, comment_ranks = fallback_candidates(tickets, comments, terms, user=user)
    return _best(user, terms, ticket_ranks, comment_ranks, limit)


def tsquery(terms: Terms) -> str:
    """All the words, the last one also as a prefix ("print" finds "printer" as it is typed)
    from three characters on (a prefix of two matches a large part of every word there is)."""
    *whole, last = terms.words
    return " & ".join([*whole, f"{last}:*" if len(last) >= PREFIX_FROM else last])


# How a source's matches are read. PostgreSQL's guess of how many rows a text query matches is
# rough (a prefix, or a word it keeps no statistics for, is guessed from the rarest common
# word), and a wrong guess either scans the table newest first for a rare word or reads half
# a million matches of a common one through the GIN index. So the search decides itself, from
# the same statistics (pg_stats' most common lexemes and their shares of the rows): a query
# whose words are each in at least COMMON_SHARE of the rows reads its newest CANDIDATES
# matches directly; any other reads its matches through the GIN index, at most
# CANDIDATES + 1 of them: all of them, or, when there are more after all, it reads the newest.
# The newest are read the cheapest of three ways (`_newest_way`), by the rows each reads:
# - in order: an index newest first (ticket_created_client_idx skips other clients' tickets
#   inside the index), stopping at CANDIDATES: about CANDIDATES / (scope x share) rows;
# - by scope: the rows of the user's clients (their client index), then sorted:
#   scope x rows;
# - by word: every match through the GIN index, then sorted: share x rows.
# where scope is the user's share of the clients and share the rarest word's share of the
# rows. The planner is told which, for the search's transaction only (set_config(..., true)
# is SET LOCAL: safe behind PgBouncer); no parallel workers and no JIT either (a LIMIT read
# gains nothing from them, and a plan priced with a disabled step would be JIT-compiled).
COMMON_SHARE = 0.02
IN_ORDER, BY_SCOPE, BY_WORD = "in order", "by scope", "by word"
_PLANNER = (
    "SELECT set_config('enable_indexscan', %s, true), set_config('enable_bitmapscan', %s, true),"
    " set_config('enable_sort', %s, true), set_config('enable_seqscan', 'off', true),"
    " set_config('enable_hashjoin', %s, true), set_config('enable_mergejoin', %s, true)"
)
WAYS = {  # indexscan, bitmapscan, sort, hashjoin, mergejoin
    IN_ORDER: ["on", "off", "off", "off", "off"],
    BY_SCOPE: ["on", "off", "on", "on", "on"],
    BY_WORD: ["off", "on", "on", "on", "on"],
}
# Each word as the vectors store it (stemmed; a stop word has none) and the share of the rows
# of each table that have it, or (the last word, typed on) a lexeme it starts; the table's rows
# and the number of clients: no row at all when every word is a stop word (such a query finds
# nothing). The same statement tells the planner to read through the GIN index (set_config is
# volatile: it runs once per word).
SHARES_THROUGH_GIN = """
WITH lexemes AS (
    SELECT (tsvector_to_array(to_tsvector(%s::regconfig, word)))[1] AS lexeme, prefix,
           set_config('enable_indexscan', 'off', true), set_config('enable_seqscan', 'off', true),
           set_config('max_parallel_workers_per_gather', '0', true),
           set_config('jit', 'off', true)
    FROM unnest(%s::text[], %s::boolean[]) AS words(word, prefix)
)
SELECT tables.name, lexemes.lexeme, coalesce(sum(common.share) FILTER (
    WHERE common.lexeme = lexemes.lexeme
       OR (lexemes.prefix AND starts_with(common.lexeme, lexemes.lexeme))
), 0), max(greatest(class.reltuples, 0)), (SELECT count(*) FROM msp_client)
FROM lexemes
CROSS JOIN (VALUES ('tickets_ticket'), ('tickets_comment')) AS tables(name)
LEFT JOIN pg_class AS class ON class.oid = to_regclass(tables.name)
LEFT JOIN pg_stats AS stats
    ON stats.schemaname = current_schema() AND stats.tablename = tables.name
   AND stats.attname = 'search_vector'
LEFT JOIN LATERAL unnest(stats.most_common_elems::text::text[], stats.most_common_elem_freqs)
    AS common(lexeme, share) ON true
WHERE lexemes.lexeme IS NOT NULL
GROUP BY tables.name, lexemes.lexeme
"""


@dataclass(frozen=True)
class Shares:
    """Per table, the share of its rows that has the query's rarest word, and its rows (as of
    the last ANALYZE); and how many clients there are."""

    share: dict[str, float]
    rows: dict[str, float]
    clients: int

    def common(self, table: str) -> bool:
        return self.share[table] >= COMMON_SHARE


def _shares(cursor, terms: Terms) -> Shares | None:
    """The query's `Shares`; None when every word is a stop word. Leaves the planner set to
    read through the GIN index."""
    words = list(terms.words)
    prefixes = [False] * (len(words) - 1) + [len(words[-1]) >= PREFIX_FROM]
    cursor.execute(SHARES_THROUGH_GIN, [CONFIG, words, prefixes])
    found = cursor.fetchall()
    if not found:
        return None
    share: dict[str, float] = {}
    for table, _, word_share, _, _ in found:
        share[table] = min(share.get(table, 1.0), word_share)
    rows = {table: table_rows or 0.0 for table, _, _, table_rows, _ in found}
    return Shares(share=share, rows=rows, clients=found[0][4])


def _newest_reads(*, scope: float, share: float, rows: float) -> dict[str, float]:
    """The rows each way reads to find the newest CANDIDATES matches (see above). `share` is
    at least what the GIN index found: more than CANDIDATES in scope."""
    rows = max(rows, 1.0)
    share = max(share, (CANDIDATES + 1) / (scope * rows))
    return {
        IN_ORDER: CANDIDATES / (scope * share),
        BY_SCOPE: scope * rows,
        BY_WORD: share * rows,
    }


def _newest_way(*, scope: float, share: float, rows: float) -> str:
    """The way that reads the fewest rows."""
    reads = _newest_reads(scope=scope, share=share, rows=rows)
    return min(reads, key=reads.__getitem__)


# Read in order, the newest rows may hold the word less often than the statistics say (it was
# common last year; a batch of new tickets without it): the read stops after the newest
# `_cap` rows of the scope, twice what the cheaper other way reads (at least IN_ORDER_CAP), and
# when it has not found CANDIDATES matches by then, the other way reads them. So a read costs
# at most about three times the cheaper other way, never the whole table.
IN_ORDER_CAP = 1_000


def _cap(reads: dict[str, float]) -> tuple[int, str]:
    """How many of the newest rows an in-order read may read, and the way to read after."""
    then = min((BY_SCOPE, BY_WORD), key=reads.__getitem__)
    return max(IN_ORDER_CAP, int(2 * reads[then])), then


def _in_order(
    scoped: QuerySet,
    vector: RawSQL,
    query: str,
    columns: tuple[str, ...],
    newest: tuple[str, ...],
    cap: int,
) -> tuple[str, list]:
    """The SQL of the newest CANDIDATES matches among the newest `cap` rows of `scoped`: the
    rows are read newest first and the read stops at CANDIDATES matches (the outer query keeps
    the subquery's order, so nothing is sorted). Its columns are `columns` and the rank."""
    named = {f"c{index}": F(name) for index, name in enumerate(columns)}
    order = {f"o{index}": F(name.lstrip("-")) for index, name in enumerate(newest)}
    recent = (
        scoped.annotate(**named, **order, found_in=vector)
        .order_by(*newest)
        .values_list(*named, *order, "found_in")[:cap]
    )
    sql, params = recent.query.sql_with_params()
    ordering = ", ".join(
        f"recent.o{index} {'DESC' if name.startswith('-') else 'ASC'}"
        for index, name in enumerate(newest)
    )
    chosen = ", ".join(f"recent.{name}" for name in named)
    return (
        f"SELECT {chosen}, ts_rank_cd(recent.found_in, to_tsquery(%s::regconfig, %s), 1)"  # noqa: S608 - names of this module
        f" FROM ({sql}) AS recent WHERE recent.found_in @@ to_tsquery(%s::regconfig, %s)"
        f" ORDER BY {ordering} LIMIT %s",
        [CONFIG, query, *params, CONFIG, query, CANDIDATES],
    )


def _scope(user: User, clients: int) -> float:
    """The user's share of the clients (of their tickets, roughly)."""
    visible = user.visible_clients()
    if visible.every:
        return 1.0
    return min(1.0, max(len(visible.ids), 1) / max(clients, 1))


def fulltext_candidates(
    tickets: QuerySet, comments: QuerySet, terms: Terms, *, user: User
) -> tuple[list[tuple[int, float]], list[tuple[int, int, float]]]:
    """(ticket id, rank) of the matching tickets and (ticket id, comment id, rank) of the
    matching comments: all of them, or the CANDIDATES newest when there are more."""
    text = tsquery(terms)
    query = SearchQuery(text, config=CONFIG, search_type="raw")
    # Per table: its matches (what is kept of each, and its rank), the order of the newest
    # first, and what the in-order read needs (the scoped rows, their vector, what is kept).
    sources = {
        "tickets_ticket": (
            tickets.alias(vector=TICKET_VECTOR)
            .filter(vector=query)
            .annotate(rank=SearchRank(TICKET_VECTOR, query, cover_density=True, normalization=1))
            .values_list("pk", "rank"),
            ("-created_at", "-pk"),
            (tickets, TICKET_VECTOR, ("pk",)),
        ),
        "tickets_comment": (
            comments.alias(vector=COMMENT_VECTOR)
            .filter(vector=query)
            .annotate(rank=SearchRank(COMMENT_VECTOR, query, cover_density=True, normalization=1))
            .values_list("ticket_id", "pk", "rank"),
            ("-pk",),
            (comments, COMMENT_VECTOR, ("ticket_id", "pk")),
        ),
    }
    found: dict[str, list] = {}
    with transaction.atomic(using=tickets.db), connections[tickets.db].cursor() as cursor:
        shares = _shares(cursor, terms)
        if shares is None:
            transaction.set_rollback(True, using=tickets.db)
            return [], []
        for table, (matches, _, _) in sources.items():
            if not shares.common(table):
                rows = list(matches.order_by()[: CANDIDATES + 1])
                if len(rows) <= CANDIDATES:
                    found[table] = rows
        scope = _scope(user, shares.clients)
        planned = None
        for table, (matches, newest, (scoped, vector, columns)) in sources.items():
            if table in found:
                continue
            size = {"scope": scope, "share": shares.share[table], "rows": shares.rows[table]}
            way = _newest_way(**size)
            if way == IN_ORDER:
                cap, way = _cap(_newest_reads(**size))
                if planned != IN_ORDER:
                    cursor.execute(_PLANNER, WAYS[IN_ORDER])
                    planned = IN_ORDER
                cursor.execute(*_in_order(scoped, vector, text, columns, newest, cap))
                rows = [tuple(row) for row in cursor.fetchall()]
                if len(rows) == CANDIDATES:
                    found[table] = rows
                    continue
            if way != planned:
                cursor.execute(_PLANNER, WAYS[way])
                planned = way
            found[table] = list(matches.order_by(*newest)[:CANDIDATES])
        # Nothing was written: rolling back ends the planner settings here, also when the
        # search runs inside a longer transaction (a savepoint's rollback undoes SET LOCAL).
        transaction.set_rollback(True, using=tickets.db)
    return found["tickets_ticket"], found["tickets_comment"]


def _every_word(words: tuple[str, ...], fields: tuple[str, ...]) -> Q:
    """Each word in one of the fields (any of them), as LIKE; words may be parts of words."""
    condition = Q()
    for word in words:
        either = Q()
        for name in fields:
            either |= Q(**{f"{name}__icontains": word})
        condition &= either
    return condition


def fallback_candidates(
    tickets: QuerySet, comments: QuerySet, terms: Terms, *, user: User | None = None
) -> tuple[list[tuple[int, float]], list[tuple[int, int, float]]]:
    """`fulltext_candidates` for a database without full-text search (SQLite): every word in
    the subject or description (or in a comment), ranked subject, then description. (`user`
    only shares the signature: the querysets are scoped already.)"""
    ticket_ranks = (
        tickets.filter(_every_word(terms.words, ("subject", "description")))
        .annotate(
            rank=Case(
                When(_every_word(terms.words, ("subject",)), then=Value(SUBJECT_RANK)),
                default=Value(DESCRIPTION_RANK),
                output_field=FloatField(),
            )
        )
        .order_by("-pk")
        .values_list("pk", "rank")[:CANDIDATES]
    )
    comment_ranks = (
        comments.filter(_every_word(terms.words, ("body",)))
        .annotate(rank=Value(COMMENT_RANK, output_field=FloatField()))
        .order_by("-pk")
        .values_list("ticket_id", "pk", "rank")[:CANDIDATES]
    )
    return list(ticket_ranks), list(comment_ranks)


def _best(
    user: User,
    terms: Terms,
    ticket_ranks: list[tuple[int, float]],
    comment_ranks: list[tuple[int, int, float]],
    limit: int,
) -> list[TicketHit]:
    """The best `limit` tickets: a ticket's rank is its own plus its best comment's; newest
    first among equal ranks."""
    own = dict(ticket_ranks)
    best_comment: dict[int, tuple[float, int]] = {}
    for ticket_id, comment_id, rank in comment_ranks:
        if rank > best_comment.get(ticket_id, (-1.0, 0))[0]:
            best_comment[ticket_id] = (rank, comment_id)
    ranks = {
        ticket_id: own.get(ticket_id, 0.0) + best_comment.get(ticket_id, (0.0, 0))[0]
        for ticket_id in own.keys() | best_comment.keys()
    }
    top = sorted(ranks, key=lambda ticket_id: (-ranks[ticket_id], -ticket_id))[:limit]
    if not top:
        return []
    found = Ticket.objects.for_user(user).select_related("client", "assignee").in_bulk(top)
    quoted = {
        comment["pk"]: comment
        for comment in Comment.objects.filter(
            pk__in=[
                best_comment[ticket_id][1]
                for ticket_id in top
                if best_comment.get(ticket_id, (0.0, 0))[0] > own.get(ticket_id, 0.0)
            ]
        ).values("pk", "body", "is_public")
    }
    hits = []
    for ticket_id in top:
        ticket = found.get(ticket_id)
        if ticket is None:  # gone since (merged tickets stay; nothing is deleted)
            continue
        comment = quoted.get(best_comment.get(ticket_id, (0.0, 0))[1])
        if comment is not None:
            where, text = ("reply" if comment["is_public"] else "internal note"), comment["body"]
        elif _mentions(ticket.subject, terms.words) or not ticket.description:
            where, text = "subject", ticket.description or ticket.subject
        else:
            where, text = "description", ticket.description
        hits.append(TicketHit(ticket, ranks[ticket_id], where, snippet(text, terms.words)))
    return hits


def _pattern(words: tuple[str, ...]) -> re.Pattern:
    """The words as they are matched: each at the start of a word (stems and prefixes)."""
    return re.compile(
        r"\b(" + "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True)) + ")",
        re.IGNORECASE,
    )


def _mentions(text: str, words: tuple[str, ...]) -> bool:
    return bool(words) and _pattern(words).search(text or "") is not None


def snippet(text: str, words: tuple[str, ...], width: int = 180) -> SafeString:
    """Some `width` characters of `text` around the first word found, on one line, escaped,
    with the words marked."""
    text = " ".join((text or "").split())
    pattern = _pattern(words) if words else None
    found = pattern.search(text) if pattern else None
    start = max(0, found.start() - width // 3) if found else 0
    part = text[start : start + width]
    if start > 0:
        part = "…" + part.split(" ", 1)[-1]
    if start + width < len(text):
        part = part.rsplit(" ", 1)[0] + "…"
    if pattern is None:
        return mark_safe(escape(part))  # noqa: S308 - escaped just now
    pieces, last = [], 0
    for match in pattern.finditer(part):
        pieces.append(escape(part[last : match.start()]))
        pieces.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    pieces.append(escape(part[last:]))
    return mark_safe("".join(pieces))  # noqa: S308 - every piece is escaped


# The directory (staff only): small tables next to tickets, searched with LIKE, each word in
# one text made of the fields (one LIKE per word and row, not one per field).


def _haystack(*fields: str) -> Concat:
    parts = []
    for name in fields:
        parts += [Coalesce(name, Value("")), Value(" ")]
    return Concat(*parts[:-1], output_field=TextField())


def _in_haystack(queryset: QuerySet, terms: Terms, *fields: str) -> QuerySet:
    condition = Q()
    for word in terms.words:
        condition &= Q(haystack__icontains=word)
    return queryset.alias(haystack=_haystack(*fields)).filter(condition)


def _starts_first(name: str, terms: Terms) -> Case:
    return Case(
        When(**{f"{name}__istartswith": terms.words[0]}, then=Value(0)),
        default=Value(1),
    )


def client_hits(*, user: User, terms: Terms) -> QuerySet[Client]:
    return _in_haystack(
        Client.objects.for_user(user), terms, "name", "slug", "email_domains"
    ).order_by(_starts_first("name", terms), "name", "pk")


def contact_hits(*, user: User, terms: Terms) -> QuerySet[Contact]:
    fields = ("full_name", "email", "phone", "job_title", "client__name")
    return (
        _in_haystack(Contact.objects.for_user(user), terms, *fields)
        .select_related("client")
        .order_by(F("is_active").desc(), _starts_first("full_name", terms), "full_name", "pk")
    )


def asset_hits(*, user: User, terms: Terms) -> QuerySet[Asset]:
    fields = ("name", "hostname", "serial_number", "rmm_id", "client__name")
    return (
        _in_haystack(Asset.objects.for_user(user), terms, *fields)
        .select_related("client")
        .order_by(F("is_active").desc(), _starts_first("name", terms), "name", "pk")
    )
