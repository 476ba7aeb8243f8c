"""The integration guide's examples run against a live server and do what the guide says."""

import importlib.util
from pathlib import Path

import pytest

from msp.services import api_token_create
from tests.factories import TicketFactory
from tickets import services

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.django_db(transaction=True)
def test_the_sync_example_fetches_only_what_changed(live_server, client_a, policy, technician):
    sync = _example("sync_tickets").sync
    _, token = api_token_create(user=technician, name="sync", scope="read")
    tickets = [TicketFactory(client=client_a, subject=f"Ticket {n}") for n in range(3)]
    copy = {"watermark": None, "tickets": {}}
    assert sync(live_server.url, token, copy) == 3
    assert {ticket["subject"] for ticket in copy["tickets"].values()} == {
        "Ticket 0",
        "Ticket 1",
        "Ticket 2",
    }
    services.ticket_acknowledge(ticket=tickets[1], actor=technician)
    # Only the changed ticket (and any within the minute of overlap) comes again.
    fetched = sync(live_server.url, token, copy)
    assert 1 <= fetched <= 3
    assert copy["tickets"][str(tickets[1].pk)]["status"] == "in_progress"
