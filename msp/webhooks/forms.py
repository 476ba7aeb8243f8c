from django import forms

from msp.models import Client
from msp.webhooks.choices import CLIENT_EVENT_TYPES, SUBSCRIBABLE_EVENT_TYPES


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="An https:// address that answers a POST with 2xx within 10 seconds.",
    )
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        choices=SUBSCRIBABLE_EVENT_TYPES, widget=forms.CheckboxSelectMultiple
    )
    client = forms.ModelChoiceField(
        queryset=Client.objects.order_by("name"),
        required=False,
        empty_label="Every client",
        help_text="Only this client's events. Every client: also events of no client "
        "(unrouted alerts).",
    )
    is_active = forms.BooleanField(label="Active", required=False, initial=True)


class WebhookReplayRangeForm(forms.Form):
    start = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    end = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    failed_only = forms.BooleanField(label="Failed deliveries only", required=False)


class WebhookSettingsForm(forms.Form):
    allowed_networks = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Networks (CIDR, one a line, e.g. 10.20.0.0/16) that targets may resolve to "
        "although private, loopback, link-local or reserved. Blank: public addresses only.",
    )
    allow_http = forms.BooleanField(
        label="Allow plain http:// targets", required=False, help_text="For test receivers."
    )
    clients_may_subscribe = forms.BooleanField(
        label="Clients may subscribe",
        required=False,
        help_text="Client users may add endpoints for their own tickets (portal and API).",
    )


class ClientWebhookEndpointForm(WebhookEndpointForm):
    """A client user's endpoint: their own client's events, of the kinds about them."""

    event_types = forms.MultipleChoiceField(
        choices=[choice for choice in SUBSCRIBABLE_EVENT_TYPES if choice[0] in CLIENT_EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
    )
    client = None
