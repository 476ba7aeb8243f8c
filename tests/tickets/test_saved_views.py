"""Saved views: personal ones seen by their owner only, shared ones by everyone through their
own client scope, counts right, and who may create, rename and delete them."""

import pytest
from django.urls import reverse

from msp.choices import Tier, UserRole
from tests.factories import ClientFactory, StaffFactory, TeamFactory, TicketFactory
from tests.helpers import signed_in
from tickets import selectors
from tickets.models import SavedView, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(policy):
    alpha, bravo = ClientFactory(name="Alpha"), ClientFactory(name="Bravo")
    pod = TeamFactory(name="Pod A", tier=Tier.L1)
    pod.clients.set([alpha])
    dispatcher = StaffFactory(role=UserRole.DISPATCHER, tier="", full_name="Dee Dispatch")
    technician = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1, teams=[pod])
    other_tech = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1, teams=[pod])
    for n in range(3):
        TicketFactory(client=alpha, impact="high", urgency="high", subject=f"Alpha P1 {n}")
    for n in range(2):
        TicketFactory(client=bravo, impact="high", urgency="high", subject=f"Bravo P1 {n}")
    TicketFactory(client=alpha, subject="Alpha low")
    return {
        "alpha": alpha,
        "bravo": bravo,
        "dispatcher": dispatcher,
        "technician": technician,
        "other_tech": other_tech,
    }


def views_on_page(http) -> dict[str, int]:
    response = http.get(reverse("tickets:queue"))
    return {view.name: view.count for view in response.context["saved_views"]}


def test_create_from_the_current_filters(world):
    http = signed_in(world["technician"])
    response = http.post(
        reverse("tickets:saved-view-create"),
        {"name": "My P1s", "querystring": "priority=P1&sort=-updated&page=3&evil=1"},
    )
    assert response.status_code == 302
    view = SavedView.objects.get(name="My P1s")
    # Only the queue's own filters and sort are kept (no page, nothing unknown).
    assert view.querystring == "priority=P1&sort=-updated"
    assert (view.owner, view.shared) == (world["technician"], False)
    assert response["Location"].endswith("?priority=P1&sort=-updated")


def test_a_personal_view_is_invisible_to_others_and_a_shared_one_visible(world):
    SavedView.objects.create(owner=world["technician"], name="Mine", querystring="priority=P1")
    SavedView.objects.create(
        owner=world["dispatcher"], name="Team P1", querystring="priority=P1", shared=True
    )
    assert views_on_page(signed_in(world["technician"])) == {"Team P1": 3, "Mine": 3}
    assert views_on_page(signed_in(world["other_tech"])) == {"Team P1": 3}
    # The dispatcher sees every client (a team that serves all): five P1 tickets.
    assert views_on_page(signed_in(world["dispatcher"])) == {"Team P1": 5}
    page = signed_in(world["other_tech"]).get(reverse("tickets:queue")).content.decode()
    assert "Mine" not in page and "shared by Dee Dispatch" in page


def test_counts_match_the_queue_they_open(world):
    """Each count is the number of tickets the view's own page lists (naive reference)."""
    queries = {
        "P1": "priority=P1",
        "Alpha": f"client={world['alpha'].pk}",
        "All": "queue=all",
        "Unassigned P4 sorted": "queue=unassigned&priority=P4&sort=client",
        "Search": "q=low",
        "Nothing": "priority=P2",
    }
    for name, querystring in queries.items():
        SavedView.objects.create(owner=world["technician"], name=name, querystring=querystring)
    http = signed_in(world["technician"])
    counts = views_on_page(http)
    for name, querystring in queries.items():
        listed = http.get(f"{reverse('tickets:queue')}?{querystring}&per_page=100")
        assert counts[name] == len(listed.context["page"].rows), name
    assert counts == {
        "P1": 3,
        "Alpha": 4,
        "All": 4,
        "Unassigned P4 sorted": 1,
        "Search": 1,
        "Nothing": 0,
    }


def test_a_technicians_shared_view_count_respects_their_scope(world):
    SavedView.objects.create(
        owner=world["dispatcher"], name="Every P1", querystring="priority=P1", shared=True
    )
    # Even a view naming another client's id counts only what the technician may see.
    SavedView.objects.create(
        owner=world["dispatcher"],
        name="Bravo",
        querystring=f"client={world['bravo'].pk}",
        shared=True,
    )
    counts = selectors.saved_view_counts(
        user=world["technician"], views=selectors.saved_views_visible(user=world["technician"])
    )
    by_name = {SavedView.objects.get(pk=pk).name: count for pk, count in counts.items()}
    assert by_name == {"Every P1": 3, "Bravo": 0}
    page = signed_in(world["technician"]).get(reverse("tickets:queue")).content.decode()
    assert "Bravo P1" not in page


def test_counts_stop_at_the_cap(world, monkeypatch):
    monkeypatch.setattr(selectors, "SAVED_VIEW_COUNT_CAP", 2)
    SavedView.objects.create(owner=world["dispatcher"], name="All", querystring="queue=all")
    page = signed_in(world["dispatcher"]).get(reverse("tickets:queue")).content.decode()
    assert ">2+</span>" in page


def test_only_dispatchers_and_administrators_share(world):
    http = signed_in(world["technician"])
    http.post(
        reverse("tickets:saved-view-create"), {"name": "Try", "shared": "on", "querystring": ""}
    )
    assert SavedView.objects.get(name="Try").shared is False  # the field is not offered
    signed_in(world["dispatcher"]).post(
        reverse("tickets:saved-view-create"), {"name": "Shared", "shared": "on"}
    )
    assert SavedView.objects.get(name="Shared").shared is True


def test_a_duplicate_or_empty_name_is_a_400_with_the_field(world):
    http = signed_in(world["technician"])
    url = reverse("tickets:saved-view-create")
    assert http.post(url, {"name": "Mine"}).status_code == 302
    response = http.post(url, {"name": "Mine"})
    assert response.status_code == 400 and "Name:" in response.content.decode()
    assert http.post(url, {"name": "  "}).status_code == 400
    assert SavedView.objects.count() == 1


def test_rename_and_delete_own_and_shared(world):
    mine = SavedView.objects.create(owner=world["technician"], name="Mine")
    theirs = SavedView.objects.create(owner=world["other_tech"], name="Theirs")
    shared = SavedView.objects.create(owner=world["other_tech"], name="Shared", shared=True)
    tech = signed_in(world["technician"])

    def rename(http, view, name):
        return http.post(reverse("tickets:saved-view-rename", args=[view.pk]), {"name": name})

    assert rename(tech, mine, "Renamed").status_code == 302
    assert rename(tech, theirs, "Hijack").status_code == 404  # a personal view: not seen
    assert rename(tech, shared, "Hijack").status_code == 403  # seen, not theirs to change
    dispatcher = signed_in(world["dispatcher"])
    assert rename(dispatcher, shared, "Curated").status_code == 302
    assert sorted(SavedView.objects.values_list("name", flat=True)) == [
        "Curated",
        "Renamed",
        "Theirs",
    ]
    delete = "tickets:saved-view-delete"
    assert tech.post(reverse(delete, args=[theirs.pk])).status_code == 404
    assert tech.post(reverse(delete, args=[shared.pk])).status_code == 403
    assert dispatcher.post(reverse(delete, args=[shared.pk])).status_code == 302
    assert tech.post(reverse(delete, args=[mine.pk])).status_code == 302
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Theirs"]


def test_the_page_offers_edit_only_where_allowed(world):
    SavedView.objects.create(owner=world["other_tech"], name="Shared", shared=True)
    SavedView.objects.create(owner=world["technician"], name="Mine")
    page = signed_in(world["technician"]).get(reverse("tickets:queue")).content.decode()
    assert page.count("saved-view-edit") == 1
    page = signed_in(world["dispatcher"]).get(reverse("tickets:queue")).content.decode()
    assert page.count("saved-view-edit") == 1  # the shared one; "Mine" is not theirs to see


def test_client_users_have_no_saved_views(world, client_user_a):
    response = signed_in(client_user_a).post(reverse("tickets:saved-view-create"), {"name": "x"})
    assert response.status_code == 403
    assert not SavedView.objects.exists()
    assert Ticket.objects.count() == 6
