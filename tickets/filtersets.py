import django_filters
from django import forms

from msp.choices import Tier
from msp.models import Client
from sla.choices import Priority
from tickets.choices import TicketStatus
from tickets.forms import staff_choices
from tickets.models import Ticket


class TicketFilterSet(django_filters.FilterSet):
    """Ticket filters shared by the workspace queues and the API."""

    q = django_filters.CharFilter(method="filter_search", label="Search")
    client = django_filters.ModelChoiceFilter(queryset=Client.objects.order_by("name"))
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    status = django_filters.ChoiceFilter(choices=TicketStatus.choices)
    tier = django_filters.ChoiceFilter(choices=Tier.choices)
    assignee = django_filters.ModelChoiceFilter(queryset=lambda request: staff_choices())

    class Meta:
        model = Ticket
        fields = ["q", "client", "priority", "status", "tier", "assignee"]

    def filter_search(self, queryset, name, value):
        return queryset.search(value)

    @property
    def form(self) -> forms.Form:
        form = super().form
        form.fields["q"].widget.attrs.update(placeholder="Number or words  ( / )", accesskey="/")
        return form
