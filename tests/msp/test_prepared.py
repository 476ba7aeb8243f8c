"""A query compiled once per process gives the rows the ORM gives, for every shape of its
values, and refuses what it cannot run again with new values."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from msp.models import Client, WebhookEndpoint
from msp.prepared import PreparedQuery, instance_by_pk
from sla.models import SLAPolicy
from tests.factories import ClientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("postgres")]


def _clients(*, name, manager_id):
    return Client.objects.filter(name__gte=name, account_manager=manager_id).values_list(
        "pk", "name"
    )


def test_rows_are_the_orms_for_each_value_and_shape(account_manager):
    managed = ClientFactory(name="Bravo", account_manager=account_manager)
    unmanaged = ClientFactory(name="Charlie")
    query = PreparedQuery(_clients)
    for name, manager_id in [("A", account_manager.pk), ("C", account_manager.pk), ("A", None)]:
        expected = list(_clients(name=name, manager_id=manager_id))
        assert query.rows(name=name, manager_id=manager_id) == expected
    assert query.rows(name="A", manager_id=None) == [(unmanaged.pk, "Charlie")]
    assert query.first(name="B", manager_id=account_manager.pk) == (managed.pk, "Bravo")
    assert query.first(name="Z", manager_id=account_manager.pk) is None


def test_it_is_compiled_once_and_sent_with_the_new_values(client_a, client_b):
    query = PreparedQuery(lambda *, pk: Client.objects.filter(pk=pk).values_list("name"))
    assert query.first(pk=client_a.pk) == (client_a.name,)
    with CaptureQueriesContext(connection) as captured:
        assert query.first(pk=client_b.pk) == (client_b.name,)
    (sent,) = captured.captured_queries
    assert f"= {client_b.pk}" in sent["sql"] and "\x1f" not in sent["sql"]


def test_values_are_converted_as_the_orm_converts_them(client_a):
    """JSON decoded and secrets decrypted, as the model's own fields read them."""
    endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.example.com/psa",
        event_types=["ticket.created", "ticket.breached"],
        secret="whsec_abc",
    )
    found = instance_by_pk(WebhookEndpoint, endpoint.pk)
    assert found.event_types == ["ticket.created", "ticket.breached"]
    assert found.secret == "whsec_abc"
    assert found == endpoint and not found._state.adding
    assert instance_by_pk(WebhookEndpoint, endpoint.pk + 1000) is None


def test_a_value_the_query_does_not_take_as_a_parameter_is_refused(policy):
    def build(*, client_id, name):
        return SLAPolicy.objects.filter(pk=client_id).values_list("pk")

    with pytest.raises(ValueError, match="name"):
        PreparedQuery(build).rows(client_id=1, name="unused")


def test_a_query_that_would_freeze_an_instant_is_refused(policy):
    def build(*, client_id):
        return SLAPolicy.objects.filter(pk=client_id, created_at__lte=timezone.now()).values("pk")

    with pytest.raises(ValueError, match="changes between two compilations"):
        PreparedQuery(build).rows(client_id=1)


@pytest.mark.django_db(transaction=True)
def test_a_locking_query_is_refused_outside_a_transaction_as_django_refuses_it(client_a):
    from django.db import transaction
    from django.db.transaction import TransactionManagementError

    query = PreparedQuery(
        lambda *, pk: Client.objects.select_for_update().filter(pk=pk).values_list("name"),
        locks=True,
    )
    with transaction.atomic():
        assert query.first(pk=client_a.pk) == (client_a.name,)  # compiled here
    with pytest.raises(TransactionManagementError):
        query.first(pk=client_a.pk)
