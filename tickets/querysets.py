from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connections, models
from django.db.models import Q

from msp.querysets import ClientScopedQuerySet
from tickets.choices import OPEN_STATUSES


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
            # Same expression as the GIN index of migration 0002, so PostgreSQL uses it.
            vector = SearchVector("subject", config="english") + SearchVector(
                "description", config="english"
            )
            return self.annotate(search=vector).filter(
                search=SearchQuery(text, config="english", search_type="websearch")
            )
        return self.filter(Q(subject__icontains=text) | Q(description__icontains=text))


class TicketChildQuerySet(ClientScopedQuerySet):
    """Rows that belong to a ticket (comments, time entries...) are scoped by its client."""

    client_lookup = "ticket__client"
