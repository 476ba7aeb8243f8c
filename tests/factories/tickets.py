import factory

from msp.models import Client
from tests.factories.msp import ClientFactory
from tickets.choices import Impact, Urgency
from tickets.models import Ticket


class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket opened through `tickets.services.ticket_open`, so it has its SLA clocks, its
    timeline and the priority the matrix gives. Any other argument of ticket_open (`at`,
    `impact`, `urgency`, `contact`, `assignee`, `sla_policy`...) passes through; `p1=True` is
    high impact x high urgency."""

    class Meta:
        model = Ticket

    class Params:
        p1 = factory.Trait(impact=Impact.HIGH, urgency=Urgency.HIGH)

    client = factory.SubFactory(ClientFactory)
    subject = factory.Sequence(lambda n: f"Ticket {n}")

    @classmethod
    def _create(cls, model_class, *args, client: Client, **kwargs) -> Ticket:
        from tickets import services

        return services.ticket_open(client=client, **kwargs)
