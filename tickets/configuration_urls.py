"""The priority matrix and mailbox pages (workspace: namespace, included by msp/urls.py)."""

from django.urls import path

from tickets import configuration_views as views

urlpatterns = [
    path("directory/priority-matrix/", views.PriorityMatrixView.as_view(), name="priority-matrix"),
    path("directory/mailboxes/", views.MailboxListView.as_view(), name="mailbox-list"),
    path("directory/mailboxes/new/", views.MailboxEditView.as_view(), name="mailbox-create"),
    path("directory/mailboxes/<int:pk>/", views.MailboxEditView.as_view(), name="mailbox-edit"),
    path(
        "directory/mailboxes/<int:pk>/deactivate/",
        views.MailboxActiveView.as_view(),
        name="mailbox-deactivate",
    ),
    path(
        "directory/mailboxes/<int:pk>/reactivate/",
        views.MailboxActiveView.as_view(active=True),
        name="mailbox-reactivate",
    ),
]
