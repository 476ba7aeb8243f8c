"""Search everywhere in the workspace (the workspace: namespace, assembled in msp/urls.py); the
portal's is tickets/portal_search_urls.py."""

from django.urls import path

from tickets import search_views as views

urlpatterns = [
    path("search/", views.WorkspaceSearchView.as_view(), name="search"),
    path("search/suggestions/", views.WorkspaceSuggestionsView.as_view(), name="search-suggest"),
]
