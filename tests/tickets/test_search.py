"""Search everywhere (tickets/search.py, tickets/search_views.py): what each role finds, and
never beyond its scope; internal notes never for client users; ranking; the ticket-number
jump; the typeahead; the LIKE fallback of SQLite (run directly, on any database); a fixed
number of queries; the stored vectors kept by their triggers and served by their GIN index."""

import re

import pytest
from django.db import connection
from django.urls import reverse

from msp.choices import UserRole
from msp.models import Contact
from tests.factories import (
    AssetFactory,
    ClientFactory,
    ClientUserFactory,
    ContactFactory,
    StaffFactory,
    TeamFactory,
)
from tests.helpers import signed_in
from tickets import search
from tickets.models import Comment, Ticket
from tickets.services import ticket_note, ticket_open, ticket_reply

pytestmark = pytest.mark.django_db

# One word in everything, so that a search for it finds every object a user may see.
WORD = "quasar"


@pytest.fixture
def world(policy):
    """Clients Alpha and Bravo, each with a ticket (the word in its subject), a public reply
    and an internal note with words of their own, a contact and an asset; a team serving Alpha
    only; people of every role."""
    team = TeamFactory(name="Alpha pod")
    rows = {}
    for name in ("Alpha", "Bravo"):
        client = ClientFactory(name=f"{name} {WORD} Holdings", slug=f"{name.lower()}-holdings")
        if name == "Alpha":
            team.clients.set([client])
        author = StaffFactory(role=UserRole.ADMIN, tier="", teams=[])
        ticket = ticket_open(client=client, subject=f"{name} {WORD} outage")
        ticket_reply(ticket=ticket, author=author, body=f"{name} replied about gravitons")
        ticket_note(ticket=ticket, author=author, body=f"{name} internal zeppelin remark")
        rows[name] = {
            "client": client,
            "ticket": ticket,
            "contact": ContactFactory(client=client, full_name=f"{name} {WORD} Person"),
            "asset": AssetFactory(client=client, name=f"{name.upper()}-{WORD}-SRV"),
            "user": ClientUserFactory(client=client, full_name=f"{name} Portal User"),
        }
    people = {
        "admin": StaffFactory(role=UserRole.ADMIN, tier="", teams=[]),
        "dispatcher": StaffFactory(role=UserRole.DISPATCHER, tier="", teams=[team]),
        "technician": StaffFactory(role=UserRole.TECHNICIAN, teams=[team]),
        "account_manager": StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=[team]),
        "client_alpha": rows["Alpha"]["user"],
        "client_bravo": rows["Bravo"]["user"],
    }
    return {**rows, "people": people}


def _names(results: search.SearchResults) -> set[str]:
    """The client names behind everything found."""
    return (
        {hit.ticket.client.name.split()[0] for hit in results.tickets}
        | {client.name.split()[0] for client in results.clients}
        | {contact.client.name.split()[0] for contact in results.contacts}
        | {asset.client.name.split()[0] for asset in results.assets}
    )


# role: (the clients whose objects it finds, finds notes, finds the directory)
SCOPE = {
    "admin": ({"Alpha", "Bravo"}, True, True),
    "dispatcher": ({"Alpha"}, True, True),
    "technician": ({"Alpha"}, True, True),
    "account_manager": ({"Alpha"}, True, True),
    "client_alpha": ({"Alpha"}, False, False),
    "client_bravo": ({"Bravo"}, False, False),
}


# The ways the newest matches of a common word are read (tickets/search.py, `_newest_way`).
NEWEST_WAYS = [search.IN_ORDER, search.BY_SCOPE, search.BY_WORD]


def _read_newest(monkeypatch, way: str) -> None:
    """Every word counts as common, and its newest matches are read `way`."""
    monkeypatch.setattr(search, "COMMON_SHARE", 0.0)
    monkeypatch.setattr(search, "_newest_way", lambda **_: way)


@pytest.mark.parametrize("role", sorted(SCOPE))
@pytest.mark.parametrize("way", ["rare", "common", *NEWEST_WAYS, "fallback"])
def test_each_role_finds_its_scope_and_nothing_else(world, role, way, monkeypatch):
    if way == "common":  # read newest first, as a word in many rows is
        monkeypatch.setattr(search, "COMMON_SHARE", 0.0)
    if way in NEWEST_WAYS:
        _read_newest(monkeypatch, way)
    if way == "fallback":  # the SQLite way, on this database
        monkeypatch.setattr(search, "fulltext_candidates", search.fallback_candidates)
    user = world["people"][role]
    clients, notes, directory = SCOPE[role]
    found = search.search_everything(user=user, text=WORD)
    assert _names(found) == clients
    assert len(found.tickets) == len(clients)
    assert bool(found.clients) == bool(found.contacts) == bool(found.assets) == directory
    # Words of a public reply are found by everyone in scope, those of a note by staff only.
    replies = search.search_everything(user=user, text="gravitons")
    assert {hit.ticket.client.name.split()[0] for hit in replies.tickets} == clients
    assert {hit.found_in for hit in replies.tickets} == {"reply"}
    noted = search.search_everything(user=user, text="zeppelin")
    assert {hit.ticket.client.name.split()[0] for hit in noted.tickets} == (
        clients if notes else set()
    )
    if notes:
        assert {hit.found_in for hit in noted.tickets} == {"internal note"}


@pytest.mark.parametrize("role", sorted(SCOPE))
def test_the_pages_show_nothing_out_of_scope(world, role):
    user = world["people"][role]
    clients = SCOPE[role][0]
    area = "workspace" if user.is_msp_staff else "portal"
    http = signed_in(user)
    for name in (f"{area}:search", f"{area}:search-suggest"):
        for text in (WORD, "gravitons", "zeppelin", "holdings", "srv", "person"):
            page = http.get(reverse(name), {"q": text}).content.decode()
            for other in {"Alpha", "Bravo"} - clients:
                assert other not in page and other.upper() not in page, (name, text)
            if not SCOPE[role][1]:  # a note's words find nothing; a note never shows
                assert "zeppelin remark" not in page and "internal note" not in page
                if text == "zeppelin":
                    assert "data-ticket=" not in page, name
        shown = http.get(reverse(name), {"q": WORD}).content.decode()
        for own in clients:
            assert own in shown


def test_another_clients_ticket_number_is_neither_a_jump_nor_found(world):
    theirs = world["Bravo"]["ticket"]
    for user, area in (
        (world["people"]["client_alpha"], "portal"),
        (world["people"]["technician"], "workspace"),
    ):
        http = signed_in(user)
        for text in (f"T-{theirs.pk}", f"#{theirs.pk}", str(theirs.pk)):
            response = http.get(reverse(f"{area}:search"), {"q": text})
            assert response.status_code == 200
            assert "Bravo" not in response.content.decode()
            options = http.get(reverse(f"{area}:search-suggest"), {"q": text}).content.decode()
            assert "Bravo" not in options and "Go to ticket" not in options


@pytest.mark.parametrize("text", ["T-{pk}", "t{pk}", "#{pk}", "{pk}", " # {pk} "])
def test_a_ticket_number_jumps_to_the_ticket(world, text):
    ours = world["Alpha"]["ticket"]
    query = {"q": text.format(pk=ours.pk)}
    staff = signed_in(world["people"]["technician"]).get(reverse("workspace:search"), query)
    assert staff.status_code == 302
    assert staff["Location"] == reverse("tickets:detail", args=[ours.pk])
    client = signed_in(world["people"]["client_alpha"]).get(reverse("portal:search"), query)
    assert client["Location"] == reverse("portal:ticket-detail", args=[ours.pk])


def test_the_typeahead_offers_the_numbered_ticket_first(world):
    ours = world["Alpha"]["ticket"]
    http = signed_in(world["people"]["technician"])
    options = http.get(reverse("workspace:search-suggest"), {"q": f"#{ours.pk}"}).content.decode()
    hrefs = re.findall(r'role="option"[^>]*href="([^"]+)"', options)
    assert hrefs[0] == reverse("tickets:detail", args=[ours.pk])
    assert "Go to ticket" in options


def test_the_typeahead_offers_five_of_each_kind_then_every_result(world):
    client = world["Alpha"]["client"]
    for number in range(7):
        ticket_open(client=client, subject=f"Printer {number} jammed")
        ContactFactory(client=client, full_name=f"Printer Person {number}")
        AssetFactory(client=client, name=f"PRINTER-{number}")
    http = signed_in(world["people"]["technician"])
    page = http.get(reverse("workspace:search-suggest"), {"q": "print"}).content.decode()
    groups = dict(re.findall(r'id="site-search-group-(\w+)">([^<]+)<', page))
    assert set(groups) == {"tickets", "contacts", "assets", "all"}
    for group in ("tickets", "contacts", "assets"):
        block = page.split(f'id="site-search-group-{group}"')[1].split('role="group"')[0]
        assert block.count('role="option"') == 5, group
    options = re.findall(r'role="option"[^>]*href="([^"]+)"', page)
    assert options[-1] == reverse("workspace:search") + "?q=print"
    # Typing has not begun yet: nothing is offered, and nothing fails.
    too_short = http.get(reverse("workspace:search-suggest"), {"q": "p"}).content.decode()
    assert "option" not in too_short
    assert http.get(reverse("workspace:search-suggest"), {"q": "x" * 500}).status_code == 200


def test_a_query_too_long_is_a_form_error(world):
    http = signed_in(world["people"]["technician"])
    response = http.get(reverse("workspace:search"), {"q": "x" * 201})
    assert response.status_code == 400
    assert "at most 200 characters" in response.content.decode()


def test_staff_and_client_users_keep_to_their_area(world, client):
    staff = signed_in(world["people"]["technician"])
    portal = signed_in(world["people"]["client_alpha"])
    for name in ("portal:search", "portal:search-suggest"):
        assert staff.get(reverse(name), {"q": WORD}).status_code == 403
    for name in ("workspace:search", "workspace:search-suggest"):
        assert portal.get(reverse(name), {"q": WORD}).status_code == 403
    for name in ("workspace:search", "portal:search", "portal:search-suggest"):
        assert client.get(reverse(name), {"q": WORD}).status_code == 302  # to sign in


def test_the_search_box_is_on_every_page_of_both_areas(world):
    staff = signed_in(world["people"]["technician"]).get(reverse("tickets:queue")).content
    portal = signed_in(world["people"]["client_alpha"]).get(reverse("portal:ticket-list")).content
    assert f'action="{reverse("workspace:search")}"'.encode() in staff
    assert f'hx-get="{reverse("workspace:search-suggest")}"'.encode() in staff
    assert f'action="{reverse("portal:search")}"'.encode() in portal
    assert b'role="combobox"' in portal and b'aria-controls="site-search-options"' in portal


# Ranking


@pytest.fixture
def ranked(policy):
    """Four tickets with "firewall": in the subject (twice: an older and a newer), in the
    description only, and in a reply only; and one without it."""
    client = ClientFactory(name="Ranked Inc")
    staff = StaffFactory(role=UserRole.ADMIN, tier="", teams=[])
    older_subject = ticket_open(client=client, subject="Firewall rules", description="Ports.")
    in_description = ticket_open(
        client=client, subject="Slow network", description="The firewall drops packets."
    )
    in_reply = ticket_open(client=client, subject="Blocked site", description="Cannot reach it.")
    ticket_reply(ticket=in_reply, author=staff, body="Allowed it on the firewall.")
    newer_subject = ticket_open(client=client, subject="Firewall update", description="Tonight.")
    ticket_open(client=client, subject="Printer", description="Jammed.")
    return staff, [newer_subject, older_subject, in_description, in_reply]


def _order(user, text="firewall") -> list[int]:
    return [hit.ticket.pk for hit in search.search_everything(user=user, text=text).tickets]


def test_subject_then_description_then_replies_and_newest_first_among_equals(ranked):
    staff, expected = ranked
    assert _order(staff) == [ticket.pk for ticket in expected]
    assert _order(staff, "firew") == [ticket.pk for ticket in expected]  # as it is typed


@pytest.mark.parametrize("way", NEWEST_WAYS)
def test_common_words_rank_the_same_way(ranked, monkeypatch, way):
    """Read newest first, as a word in 2 % of the rows is, whichever way."""
    staff, expected = ranked
    _read_newest(monkeypatch, way)
    assert _order(staff) == [ticket.pk for ticket in expected]


@pytest.mark.parametrize("way", NEWEST_WAYS)
def test_beyond_the_candidates_the_newest_matches_are_ranked(ranked, monkeypatch, way):
    """More matches than CANDIDATES: the newest of them are ranked (here 2 tickets: the newer
    subject and the description; the older subject is left out), however they were read."""
    staff, expected = ranked
    newer_subject, _, in_description, in_reply = expected
    monkeypatch.setattr(search, "CANDIDATES", 2)
    monkeypatch.setattr(search, "_newest_way", lambda **_: way)
    assert _order(staff) == [newer_subject.pk, in_description.pk, in_reply.pk]
    monkeypatch.setattr(search, "COMMON_SHARE", 0.0)
    assert _order(staff) == [newer_subject.pk, in_description.pk, in_reply.pk]


@pytest.mark.postgres
def test_an_in_order_read_stops_at_its_cap_and_reads_the_other_way(ranked, monkeypatch):
    """The newest rows hold the word less often than the statistics say (here the newest
    ticket, "Printer", is the only row the in-order read may read): the read stops there and
    the other way finds the same newest matches."""
    if connection.vendor != "postgresql":
        pytest.skip("the in-order read is PostgreSQL's")
    staff, expected = ranked
    newer_subject, _, in_description, in_reply = expected
    monkeypatch.setattr(search, "CANDIDATES", 2)
    _read_newest(monkeypatch, search.IN_ORDER)
    reads = []
    in_order = search._in_order
    monkeypatch.setattr(
        search, "_in_order", lambda *args: reads.append(args[-1]) or in_order(*args)
    )
    assert _order(staff) == [newer_subject.pk, in_description.pk, in_reply.pk]
    assert reads == [search.IN_ORDER_CAP] * 2  # tickets and comments, each up to the cap
    reads.clear()
    for then in (search.BY_SCOPE, search.BY_WORD):
        monkeypatch.setattr(search, "_cap", lambda _, then=then: (1, then))
        assert _order(staff) == [newer_subject.pk, in_description.pk, in_reply.pk]
    assert reads == [1, 1] * 2


def test_the_cap_of_an_in_order_read():
    """Twice what the cheaper other way reads, at least IN_ORDER_CAP rows."""
    reads = {search.IN_ORDER: 300.0, search.BY_SCOPE: 100_000.0, search.BY_WORD: 630_000.0}
    assert search._cap(reads) == (200_000, search.BY_SCOPE)
    reads = {search.IN_ORDER: 300.0, search.BY_SCOPE: 100.0, search.BY_WORD: 50.0}
    assert search._cap(reads) == (search.IN_ORDER_CAP, search.BY_WORD)


def test_the_newest_are_read_the_way_that_reads_fewest_rows():
    """A million rows: a common word seen by everyone or a tenth of the clients is read in
    order (a few hundred rows); one client's, by its clients (a few thousand); a word in 0.5 %
    of the rows, by the word (5,000 rows, not 40,000 newest first)."""
    rows = 1_000_000
    assert search._newest_way(scope=1.0, share=0.6, rows=rows) == search.IN_ORDER
    assert search._newest_way(scope=0.1, share=0.6, rows=rows) == search.IN_ORDER
    assert search._newest_way(scope=0.002, share=0.6, rows=rows) == search.BY_SCOPE
    assert search._newest_way(scope=1.0, share=0.005, rows=rows) == search.BY_WORD
    # Unknown to the statistics, yet more than CANDIDATES matches in one client's rows: at
    # least that share of them.
    assert search._newest_way(scope=0.002, share=0.0, rows=rows) == search.BY_SCOPE
    # Never analyzed (no rows known): any way, without dividing by zero.
    assert search._newest_way(scope=1.0, share=0.0, rows=0) in NEWEST_WAYS


def test_the_fallback_ranks_the_same_way(ranked, monkeypatch):
    staff, expected = ranked
    monkeypatch.setattr(search, "fulltext_candidates", search.fallback_candidates)
    assert _order(staff) == [ticket.pk for ticket in expected]


def test_the_fallback_is_what_sqlite_runs(ranked):
    """On a database without full-text search (the embedded SQLite), ticket_hits takes the
    LIKE path: its candidates, called directly, find the same tickets as full text here."""
    staff, expected = ranked
    tickets = Ticket.objects.for_user(staff)
    comments = Comment.objects.for_user(staff)
    terms = search.Terms.parse("FIREWALL")
    ticket_ranks, comment_ranks = search.fallback_candidates(tickets, comments, terms)
    assert dict(ticket_ranks) == {
        expected[0].pk: search.SUBJECT_RANK,
        expected[1].pk: search.SUBJECT_RANK,
        expected[2].pk: search.DESCRIPTION_RANK,
    }
    assert [(ticket, rank) for ticket, _, rank in comment_ranks] == [
        (expected[3].pk, search.COMMENT_RANK)
    ]
    if connection.vendor == "postgresql":
        full = search.fulltext_candidates(tickets, comments, terms, user=staff)
        assert {pk for pk, _ in full[0]} == {pk for pk, _ in ticket_ranks}
        assert [row[:2] for row in full[1]] == [row[:2] for row in comment_ranks]


def test_every_word_must_be_found(ranked):
    staff, expected = ranked
    assert _order(staff, "firewall rules") == [expected[1].pk]
    assert _order(staff, "firewall nothing-like-it") == []
    assert _order(staff, "the of and") == []  # stop words alone find nothing, and do not fail
    assert _order(staff, "!!! && :*") == []


def test_the_snippet_is_escaped_and_marks_the_words():
    text = "Before <script>alert(1)</script> the Firewall dropped it, firewalls do"
    shown = search.snippet(text, ("firewall",))
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert "<mark>Firewall</mark>" in shown and "<mark>firewall</mark>s" in shown


def test_the_terms():
    assert search.Terms.parse("T-42").number == 42
    assert search.Terms.parse("printer 42").number is None
    assert search.Terms.parse("Ünïcode  straße!").words == ("ünïcode", "straße")
    assert search.Terms.parse("a:* | b & !c").words == ("a", "b", "c")
    assert search.tsquery(search.Terms.parse("mail server")) == "mail & server:*"


# Cost


def test_the_results_page_costs_a_fixed_number_of_queries(world, django_assert_num_queries):
    user = world["people"]["technician"]
    http = signed_in(user)
    client = world["Alpha"]["client"]
    admin = world["people"]["admin"]

    def found(text: str) -> int:
        response = http.get(reverse("workspace:search"), {"q": text})
        assert response.status_code == 200
        return response.content.decode().count("data-ticket=")

    # session, user, visible clients; in a transaction, rolled back (here a savepoint, its
    # rollback and release): the words' shares of the rows, the tickets, the comments; then
    # the found tickets, the comments quoted
    # when a reply or note is where a ticket was found; clients, contacts, assets. (With
    # PostgreSQL, a word in 2 % of the rows or a source with more than 200 matches adds two:
    # bench/search.py.)
    expected = 13 if connection.vendor == "postgresql" else 9
    with django_assert_num_queries(expected):
        assert found(WORD) == 1
    with django_assert_num_queries(expected + 1):
        assert found("gravitons") == 1
    for number in range(15):
        ticket = ticket_open(client=client, subject=f"{WORD} {number}")
        ticket_reply(ticket=ticket, author=admin, body=f"{WORD} gravitons {number}")
        ContactFactory(client=client, full_name=f"{WORD} contact {number}")
        AssetFactory(client=client, name=f"{WORD}-{number}")
    with django_assert_num_queries(expected):
        assert found(WORD) == 16
    with django_assert_num_queries(expected + 1):
        assert found("gravitons") == 16


def test_the_typeahead_costs_a_fixed_number_of_queries(world, django_assert_num_queries):
    http = signed_in(world["people"]["client_alpha"])
    for number in range(12):
        ticket_open(client=world["Alpha"]["client"], subject=f"{WORD} {number}")
    # session, user, the words' shares, tickets, comments (and the savepoint, its rollback and
    # release around them), found tickets (no comment quoted: subjects rank first)
    with django_assert_num_queries(9 if connection.vendor == "postgresql" else 5):
        http.get(reverse("portal:search-suggest"), {"q": WORD})
    for number in range(12, 24):
        ticket_open(client=world["Alpha"]["client"], subject=f"{WORD} {number}")
    with django_assert_num_queries(9 if connection.vendor == "postgresql" else 5):
        http.get(reverse("portal:search-suggest"), {"q": WORD})


# The stored vectors (PostgreSQL)


@pytest.mark.postgres
def test_the_vectors_follow_the_text(world):
    if connection.vendor != "postgresql":
        pytest.skip("the stored vectors are PostgreSQL's")
    ticket = world["Alpha"]["ticket"]
    admin = world["people"]["admin"]
    assert _order(admin, "pelican") == []
    ticket.description = "A pelican in the server room"
    ticket.save()
    assert _order(admin, "pelican") == [ticket.pk]
    ticket.description = "Gone"
    ticket.save(update_fields=["description"])
    assert _order(admin, "pelican") == []
    comment = Comment.objects.filter(ticket=ticket, is_public=True).get()
    Comment.objects.filter(pk=comment.pk).update(body="a walrus appeared")
    assert _order(admin, "walrus") == [ticket.pk]


@pytest.mark.postgres
def test_the_searches_can_use_the_gin_indexes(world):
    """The stored vectors answer the query through their GIN indexes (here with sequential
    scans off: a few rows are read faster without an index). That the client scope of a
    technician does not turn them away at 100,000 and 1,000,000 tickets: bench/search.py."""
    if connection.vendor != "postgresql":
        pytest.skip("the GIN indexes are PostgreSQL's")
    tickets, comments = search._sources(world["people"]["admin"])
    terms = search.Terms.parse("outage")
    query = search.SearchQuery(search.tsquery(terms), config=search.CONFIG, search_type="raw")
    with connection.cursor() as cursor:
        # Nor a walk of another index in the queryset's order (with a few rows, the table's
        # statistics, which depend on the tests run before, may make that look cheaper).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    ticket_plan = (
        tickets.alias(vector=search.TICKET_VECTOR).filter(vector=query).order_by().explain()
    )
    comment_plan = (
        comments.alias(vector=search.COMMENT_VECTOR).filter(vector=query).order_by().explain()
    )
    assert "ticket_search_vector_idx" in ticket_plan, ticket_plan
    assert "comment_search_vector_idx" in comment_plan, comment_plan


def test_inactive_contacts_come_last(world):
    client = world["Alpha"]["client"]
    ContactFactory(client=client, full_name=f"Aaron {WORD}", is_active=False)
    found = search.search_everything(user=world["people"]["technician"], text=WORD)
    assert [contact.is_active for contact in found.contacts] == [True, False]
    assert Contact.objects.filter(client=client).count() == 2


@pytest.mark.postgres
def test_the_planner_settings_end_with_the_search(ranked):
    """A search inside a longer transaction (a test's, or a request's) leaves the planner as
    it was: the settings that steer its reads are rolled back with its savepoint."""
    if connection.vendor != "postgresql":
        pytest.skip("planner settings are PostgreSQL's")
    staff, _ = ranked

    names = (
        "enable_indexscan",
        "enable_seqscan",
        "enable_bitmapscan",
        "enable_sort",
        "enable_hashjoin",
        "enable_mergejoin",
        "max_parallel_workers_per_gather",
        "jit",
    )

    def settings():
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join("current_setting(%s)" for _ in names), list(names))
            return cursor.fetchone()

    before = settings()
    assert before[:6] == ("on",) * 6
    # Through the GIN index, then newest first each way.
    for share, way in ((1.0, None), *((0.0, way) for way in NEWEST_WAYS)):
        kept = search.COMMON_SHARE, search._newest_way
        search.COMMON_SHARE = share
        if way:
            search._newest_way = lambda way=way, **_: way
        try:
            assert _order(staff)
        finally:
            search.COMMON_SHARE, search._newest_way = kept
        assert settings() == before


@pytest.mark.postgres
def test_the_search_indexes_keep_no_pending_list():
    """Migration 0029: the GIN indexes take each entry at once (no pending list that every
    search would read), and the (created_at, client_id) index of scoped newest-first reads
    exists."""
    if connection.vendor != "postgresql":
        pytest.skip("the indexes are PostgreSQL's")
    indexes = ["ticket_search_vector_idx", "comment_search_vector_idx", "ticket_created_client_idx"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)", [indexes]
        )
        options = dict(cursor.fetchall())
    assert options["ticket_search_vector_idx"] == ["fastupdate=off"]
    assert options["comment_search_vector_idx"] == ["fastupdate=off"]
    assert "ticket_created_client_idx" in options


@pytest.mark.postgres
def test_the_queue_search_reads_the_stored_vector_and_its_old_index_is_gone(world):
    """Migration 0030: the queue's word search reads the same stored vector through its GIN
    index, so the expression index of migration 0002 (a second vector computed on every ticket
    write) is dropped."""
    if connection.vendor != "postgresql":
        pytest.skip("the indexes are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('ticket_search_gin_idx')")
        assert cursor.fetchone() == (None,)
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    plan = Ticket.objects.search("outage").order_by().explain()
    assert "ticket_search_vector_idx" in plan, plan
