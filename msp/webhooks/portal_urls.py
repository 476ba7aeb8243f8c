"""Webhook pages in the portal (client users, when the MSP lets clients subscribe), included
by msp/urls.py in the portal: namespace."""

from django.urls import path

from msp.webhooks.views import ClientOwnerOnly, pages_for

urlpatterns = [
    path(route, view.as_view(), name=name)
    for name, (route, view) in pages_for(ClientOwnerOnly).items()
]
