"""Clients' ticket pages in the portal (the portal: namespace, assembled in msp/urls.py)."""

from django.urls import path

from tickets import portal_views

urlpatterns = [
    path("tickets/", portal_views.PortalTicketListView.as_view(), name="ticket-list"),
    path("tickets/new/", portal_views.PortalTicketCreateView.as_view(), name="ticket-new"),
    path("tickets/<int:pk>/", portal_views.PortalTicketDetailView.as_view(), name="ticket-detail"),
    path(
        "tickets/<int:pk>/files/<int:attachment_pk>/",
        portal_views.PortalAttachmentView.as_view(),
        name="attachment",
    ),
]
