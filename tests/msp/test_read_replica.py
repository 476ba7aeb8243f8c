"""Dashboards read from the read replica when there is one; writes and every other page stay
on the primary. The replica here is the test database itself (a test mirror), so what is
checked is where each query goes."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from msp.db_router import replica_reads
from tests.helpers import signed_in
from tickets.models import Ticket

# Transactional: within a TestCase Django hands the mirror the primary's own connection, so
# where a query went could not be told apart.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(databases=["default", "replica"], transaction=True),
]


@pytest.fixture
def replica(settings):
    if "replica" not in settings.DATABASES:
        pytest.skip("no replica alias without PostgreSQL")
    settings.READ_REPLICA = "replica"
    yield
    connections["replica"].close()  # so that the test database can be dropped at the end


def captured(alias):
    return CaptureQueriesContext(connections[alias])


def test_reads_inside_replica_reads_go_to_the_replica_writes_never(replica, client_a, policy):
    with captured("replica") as on_replica, captured("default") as on_primary:
        with replica_reads():
            list(Ticket.objects.all())
            client_a.name = "Client A, renamed"
            client_a.save()
        list(Ticket.objects.all())
    replica_sql = [q["sql"] for q in on_replica]
    # The ticket list read inside, once (the one after it went to the primary), and no write.
    assert sum('FROM "tickets_ticket"' in sql for sql in replica_sql) == 1
    assert not any(sql.startswith(("UPDATE", "INSERT", "DELETE")) for sql in replica_sql)
    assert any(q["sql"].startswith("UPDATE") for q in on_primary)


def test_the_dashboards_read_from_the_replica_other_pages_do_not(replica, technician, policy):
    http = signed_in(technician)
    with captured("replica") as on_replica:
        assert http.get(reverse("workspace:sla-risk")).status_code == 200
    assert len(on_replica) > 0
    with captured("replica") as on_replica:
        assert http.get(reverse("tickets:queue")).status_code == 200
    assert len(on_replica) == 0


def test_without_a_replica_everything_stays_on_the_primary(settings, technician, policy):
    settings.READ_REPLICA = ""
    http = signed_in(technician)
    with captured("default") as on_primary:
        assert http.get(reverse("workspace:sla-risk")).status_code == 200
    assert len(on_primary) > 0
