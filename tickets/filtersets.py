import django_filters
from django import forms

from msp.choices import Tier
from msp.models import Client
from sla.choices import Priority
from tickets.choices import TicketStatus
from tickets.forms import staff_choices
from tickets.models import Ticket


def client_choices(user=None) -> list[tuple[int, str]]:
    if user is None:
        return []
    # Kept on the request's user: the queue's filter form and each saved view's count
    # validate against the same list, read once (a fixed query count however many views).
    cached = getattr(user, "_queue_client_choices", None)
    if cached is None:
        cached = list(Client.objects.for_user(user).order_by("name").values_list("pk", "name"))
        user._queue_client_choices = cached
    return cached


def assignee_choices(user=None) -> list[tuple[int, str]]:
    cached = getattr(user, "_queue_assignee_choices", None) if user is not None else None
    if cached is None:
        cached = list(staff_choices().values_list("pk", "full_name"))
        if user is not None:
            user._queue_assignee_choices = cached
    return cached


class TicketFilterSet(django_filters.FilterSet):
    """Ticket filters shared by the workspace queues and the API."""

    q = django_filters.CharFilter(method="filter_search", label="Search")
    # Plain (id, name) choices: a queue renders every client in its filter, and model
    # instances for hundreds of clients cost more than the page of tickets itself.
    client = django_filters.ChoiceFilter(field_name="client_id", choices=client_choices)
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    status = django_filters.ChoiceFilter(choices=TicketStatus.choices)
    tier = django_filters.ChoiceFilter(choices=Tier.choices)
    assignee = django_filters.ChoiceFilter(field_name="assignee_id", choices=assignee_choices)

    class Meta:
        model = Ticket
        fields = ["q", "client", "priority", "status", "tier", "assignee"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The client filter offers (and accepts) only the clients the user sees.
        user = getattr(self.request, "user", None)
        client = self.filters["client"]
        if isinstance(client, django_filters.ChoiceFilter):
            client.extra["choices"] = lambda: client_choices(user)
        assignee = self.filters["assignee"]
        if isinstance(assignee, django_filters.ChoiceFilter):
            assignee.extra["choices"] = lambda: assignee_choices(user)

    def filter_search(self, queryset, name, value):
        return queryset.search(value)

    @property
    def form(self) -> forms.Form:
        form = super().form
        form.fields["q"].widget.attrs.update(placeholder="Number or words  ( / )", accesskey="/")
        return form
