"""API conventions every integration can rely on: ETag and If-Match (412 on a stale write, so
two integrations cannot overwrite each other), and X-RateLimit-* headers with each budget."""

import threading

import pytest
from django.core.cache import cache
from django.db import connection

from contracts.models import Contract
from tests.factories import ContractFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract(client_a):
    return ContractFactory(client=client_a, number="C-1", name="Managed")


class TestOptimisticConcurrency:
    def test_the_second_of_two_writers_gets_412(self, contract, account_manager, api_as):
        first, second = api_as(account_manager), api_as(account_manager)
        url = f"/api/v1/contracts/{contract.pk}/"
        etag = first.get(url)["ETag"]
        assert second.get(url)["ETag"] == etag  # both read the same version
        response = first.patch(url, {"name": "Gold"}, format="json", HTTP_IF_MATCH=etag)
        assert response.status_code == 200
        assert response["ETag"] != etag  # the new version
        stale = second.patch(url, {"name": "Silver"}, format="json", HTTP_IF_MATCH=etag)
        assert stale.status_code == 412
        assert stale.json()["message"].startswith("This object changed since you read it")
        assert Contract.objects.get(pk=contract.pk).name == "Gold"
        fresh = second.patch(url, {"name": "Silver"}, format="json", HTTP_IF_MATCH=response["ETag"])
        assert fresh.status_code == 200

    def test_without_if_match_writes_as_before_and_star_matches_any(
        self, contract, account_manager, api_as
    ):
        http = api_as(account_manager)
        url = f"/api/v1/contracts/{contract.pk}/"
        assert http.patch(url, {"name": "A"}, format="json").status_code == 200
        assert http.patch(url, {"name": "B"}, format="json", HTTP_IF_MATCH="*").status_code == 200

    def test_an_action_on_a_ticket_honours_if_match(self, client_a, policy, technician, api_as):
        ticket = TicketFactory(client=client_a)
        http = api_as(technician)
        etag = http.get(f"/api/v1/tickets/{ticket.pk}/")["ETag"]
        http.post(f"/api/v1/tickets/{ticket.pk}/acknowledge/")  # someone else acts first
        response = http.post(
            f"/api/v1/tickets/{ticket.pk}/assign/",
            {"assignee": technician.pk},
            format="json",
            HTTP_IF_MATCH=etag,
        )
        assert response.status_code == 412
        ticket.refresh_from_db()
        assert ticket.assignee_id is None

    def test_an_unchanged_object_answers_304_to_a_poller(self, contract, technician, api_as):
        http = api_as(technician)
        url = f"/api/v1/contracts/{contract.pk}/"
        etag = http.get(url)["ETag"]
        assert http.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


@pytest.mark.django_db(transaction=True)
def test_two_writers_at_once_one_wins(postgres, client_a, account_manager, api_as):
    """Both send the version they read at the same moment: the row lock orders them, and the
    second sees the first's version, so exactly one write lands."""
    contract = ContractFactory(client=client_a, number="C-9", name="Managed")
    url = f"/api/v1/contracts/{contract.pk}/"
    etag = api_as(account_manager).get(url)["ETag"]
    barrier = threading.Barrier(2)
    codes = []

    def write(name):
        http = api_as(account_manager)
        barrier.wait()
        codes.append(http.patch(url, {"name": name}, format="json", HTTP_IF_MATCH=etag).status_code)
        connection.close()

    threads = [threading.Thread(target=write, args=(name,)) for name in ("Gold", "Silver")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 412]


class TestRateLimitHeaders:
    def test_each_response_says_what_is_left(self, settings, technician, api_as):
        cache.clear()
        settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "default": "3/min"}
        http = api_as(technician)
        answers = [http.get("/api/v1/clients/") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a["X-RateLimit-Limit"] for a in answers] == ["3"] * 4
        assert [a["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
        resets = {int(a["X-RateLimit-Reset"]) for a in answers}
        assert len(resets) == 1  # the window ends when its first request leaves it
        assert int(answers[-1]["Retry-After"]) <= 60
        cache.clear()


def _filtered_viewsets():
    from msp.api.base import ScopedViewSet
    from msp.api.urls import router

    return [
        (prefix, viewset)
        for prefix, viewset, _ in router.registry
        if issubclass(viewset, ScopedViewSet) and viewset.filter_backends
    ]


def test_a_list_without_query_parameters_is_not_filtered_by_any_filter_set(admin_user, rf):
    """An object asked for by its id without query parameters skips the filter backends
    (ScopedViewSet.filter_queryset): that holds only while no FilterSet filters anything
    when no parameter is given. Every registered resource's backends are checked here."""
    from rest_framework.request import Request

    checked = 0
    for prefix, viewset in _filtered_viewsets():
        request = Request(rf.get(f"/api/v1/{prefix}/"))
        request.user = admin_user
        view = viewset(request=request, kwargs={}, format_kwarg=None, action="list")
        queryset = view.get_queryset()
        filtered = queryset
        for backend in view.filter_backends:
            filtered = backend().filter_queryset(request, filtered, view)
        assert str(filtered.order_by().query) == str(queryset.order_by().query), prefix
        checked += 1
    assert checked >= 20


def test_a_query_parameter_on_an_object_is_still_filtered_and_checked(
    client_a, policy, technician, api_as
):
    ticket = TicketFactory(client=client_a)
    http = api_as(technician)
    assert ticket.status == "new"
    assert http.get(f"/api/v1/tickets/{ticket.pk}/").status_code == 200
    assert http.get(f"/api/v1/tickets/{ticket.pk}/?status=new").status_code == 200
    assert http.get(f"/api/v1/tickets/{ticket.pk}/?status=closed").status_code == 404
    assert http.get(f"/api/v1/tickets/{ticket.pk}/?breached=maybe").status_code == 400
