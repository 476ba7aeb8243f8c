"""What a status change costs in SQL: the same few statements whether it pauses the
resolution clock, resumes it, or neither."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import ContactFactory, TicketFactory
from tickets import services
from tickets.choices import TicketStatus

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "statuses",
    [
        (TicketStatus.WAITING_ON_CLIENT,),  # pauses the resolution clock
        (TicketStatus.WAITING_ON_CLIENT, TicketStatus.IN_PROGRESS),  # resumes it
    ],
)
def test_a_status_change(statuses, client_a, policy, technician):
    ticket = TicketFactory(client=client_a, contact=ContactFactory(client=client_a))
    services.ticket_reply(ticket=ticket, author=technician, body="Looking into it")
    for status in statuses[:-1]:
        services.ticket_change_status(ticket=ticket, actor=technician, status=status)
    with CaptureQueriesContext(connection) as captured:
        services.ticket_change_status(ticket=ticket, actor=technician, status=statuses[-1])
    ticket.refresh_from_db()
    assert ticket.status == statuses[-1]
    # The ticket locked; its clocks locked; the calendars; the resolution clock updated; the
    # timeline entry; the ticket with its new status and SLA summary.
    assert len([q for q in captured if "SAVEPOINT" not in q["sql"]]) == 6
