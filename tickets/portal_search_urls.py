"""Search in the client portal, over the client's own tickets (the portal: namespace,
assembled in msp/urls.py)."""

from django.urls import path

from tickets import search_views as views

urlpatterns = [
    path("search/", views.PortalSearchView.as_view(), name="search"),
    path("search/suggestions/", views.PortalSuggestionsView.as_view(), name="search-suggest"),
]
