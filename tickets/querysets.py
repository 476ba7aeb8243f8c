from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connections, models
from django.db.models import Q
from django.db.models.expressions import RawSQL

from msp.querysets import ClientScopedQuerySet
from tickets.choices import OPEN_STATUSES

# The stored vector of a ticket's subject and description (migration 0028: kept by a trigger,
# GIN-indexed, not a model field), read by the queue's word search and by search everywhere.
TICKET_VECTOR = RawSQL('"tickets_ticket"."search_vector"', [], output_field=SearchVectorField())


class TicketQuerySet(ClientScopedQuerySet):
    def open(self) -> "TicketQuerySet":
        return self.filter(status__in=OPEN_STATUSES)

    def with_list_related(self) -> "TicketQuerySet":
        return self.select_related("client", "assignee", "team", "contact")

    def by_sla_urgency(self) -> "TicketQuerySet":
        """Next SLA deadline first; tickets with no running clock (paused) last."""
        return self.order_by(models.F("sla_due_at").asc(nulls_last=True), "pk")

    def search(self, text: str) -> "TicketQuerySet":
        text = text.strip()
        if not text:
            return self
        number = text.lstrip("#")
        if number.isdigit():
            return self.filter(pk=int(number))
        if connections[self.db].vendor == "postgresql":
            query = SearchQuery(text, config="english", search_type="websearch")
            return self.alias(vector=TICKET_VECTOR).filter(vector=query)
        return self.filter(Q(subject__icontains=text) | Q(description__icontains=text))


class TicketChildQuerySet(ClientScopedQuerySet):
    """Rows that belong to a ticket (comments, time entries...) are scoped by its client."""

    client_lookup = "ticket__client"
