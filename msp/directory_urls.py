"""The directory's pages in the workspace (the workspace: namespace, included by msp/urls.py).
The client's own page (workspace:client-detail) is reporting's: it reads every app."""

from django.urls import path

from msp import directory_views as views

urlpatterns = [
    path("clients/", views.ClientListView.as_view(), name="client-list"),
    path("directory/clients/new/", views.ClientEditView.as_view(), name="client-create"),
    path(
        "directory/clients/<slug:slug>/edit/",
        views.ClientEditView.as_view(),
        name="client-edit",
    ),
    path(
        "directory/clients/<slug:slug>/deactivate/",
        views.ClientActiveView.as_view(),
        name="client-deactivate",
    ),
    path(
        "directory/clients/<slug:slug>/reactivate/",
        views.ClientActiveView.as_view(active=True),
        name="client-reactivate",
    ),
    path("directory/sites/", views.SiteListView.as_view(), name="site-list"),
    path("directory/sites/new/", views.SiteEditView.as_view(), name="site-create"),
    path("directory/sites/<int:pk>/", views.SiteEditView.as_view(), name="site-edit"),
    path("directory/contacts/", views.ContactListView.as_view(), name="contact-list"),
    path("directory/contacts/new/", views.ContactEditView.as_view(), name="contact-create"),
    path("directory/contacts/<int:pk>/", views.ContactEditView.as_view(), name="contact-edit"),
    path(
        "directory/contacts/<int:pk>/deactivate/",
        views.ContactActiveView.as_view(),
        name="contact-deactivate",
    ),
    path(
        "directory/contacts/<int:pk>/reactivate/",
        views.ContactActiveView.as_view(active=True),
        name="contact-reactivate",
    ),
    path("directory/assets/", views.AssetListView.as_view(), name="asset-list"),
    path("directory/assets/new/", views.AssetEditView.as_view(), name="asset-create"),
    path("directory/assets/<int:pk>/", views.AssetEditView.as_view(), name="asset-edit"),
    path(
        "directory/assets/<int:pk>/deactivate/",
        views.AssetActiveView.as_view(),
        name="asset-deactivate",
    ),
    path(
        "directory/assets/<int:pk>/reactivate/",
        views.AssetActiveView.as_view(active=True),
        name="asset-reactivate",
    ),
    path("directory/people/", views.PersonListView.as_view(), name="person-list"),
    path("directory/people/new/", views.PersonEditView.as_view(), name="person-create"),
    path("directory/people/<int:pk>/", views.PersonEditView.as_view(), name="person-edit"),
    path(
        "directory/people/<int:pk>/deactivate/",
        views.PersonActiveView.as_view(),
        name="person-deactivate",
    ),
    path(
        "directory/people/<int:pk>/reactivate/",
        views.PersonActiveView.as_view(active=True),
        name="person-reactivate",
    ),
    path("directory/teams/", views.TeamListView.as_view(), name="team-list"),
    path("directory/teams/new/", views.TeamEditView.as_view(), name="team-create"),
    path("directory/teams/<int:pk>/", views.TeamEditView.as_view(), name="team-edit"),
]
