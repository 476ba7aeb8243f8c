from django.urls import path

from tickets import canned_views, queue_views, views

app_name = "tickets"

urlpatterns = [
    path("", views.QueueView.as_view(), name="queue"),
    path("bulk/", queue_views.BulkView.as_view(), name="bulk"),
    path("views/", queue_views.SavedViewCreateView.as_view(), name="saved-view-create"),
    path(
        "views/<int:pk>/rename/",
        queue_views.SavedViewRenameView.as_view(),
        name="saved-view-rename",
    ),
    path(
        "views/<int:pk>/delete/",
        queue_views.SavedViewDeleteView.as_view(),
        name="saved-view-delete",
    ),
    path("<int:pk>/row-take/", queue_views.RowTakeView.as_view(), name="row-take"),
    path("new/", views.TicketCreateView.as_view(), name="create"),
    path("new/client-fields/", views.ClientFieldsView.as_view(), name="client-fields"),
    path("<int:pk>/", views.TicketDetailView.as_view(), name="detail"),
    path("unrouted-alerts/", views.UnroutedAlertListView.as_view(), name="unrouted-alerts"),
    path("<int:pk>/sla/", views.TicketSlaFragmentView.as_view(), name="sla"),
    path("live/", views.QueueLiveView.as_view(), name="queue-live"),
    path("<int:pk>/live/", views.TicketLiveView.as_view(), name="live"),
    path("<int:pk>/preview/", views.ComposerPreviewView.as_view(), name="preview"),
    path("<int:pk>/canned/", views.CannedMenuView.as_view(), name="canned-menu"),
    path(
        "<int:pk>/canned/<int:canned_pk>/", views.CannedInsertView.as_view(), name="canned-insert"
    ),
    path("canned/", canned_views.CannedListView.as_view(), name="canned-list"),
    path("canned/<int:canned_pk>/", canned_views.CannedEditView.as_view(), name="canned-edit"),
    path(
        "canned/<int:canned_pk>/delete/",
        canned_views.CannedDeleteView.as_view(),
        name="canned-delete",
    ),
    path("<int:pk>/reply/", views.ReplyView.as_view(), name="reply"),
    path("<int:pk>/note/", views.NoteView.as_view(), name="note"),
    path("<int:pk>/acknowledge/", views.AcknowledgeView.as_view(), name="acknowledge"),
    path("<int:pk>/assign/", views.AssignView.as_view(), name="assign"),
    path("<int:pk>/take/", views.TakeView.as_view(), name="take"),
    path("<int:pk>/contact/", views.ContactView.as_view(), name="contact"),
    path("<int:pk>/status/", views.StatusView.as_view(), name="status"),
    path("<int:pk>/priority/", views.PriorityView.as_view(), name="priority"),
    path("<int:pk>/escalate/", views.EscalateView.as_view(), name="escalate"),
    path("<int:pk>/resolve/", views.ResolveView.as_view(), name="resolve"),
    path("<int:pk>/reopen/", views.ReopenView.as_view(), name="reopen"),
    path("<int:pk>/close/", views.CloseView.as_view(), name="close"),
    path("<int:pk>/merge/", views.MergeView.as_view(), name="merge"),
    path("<int:pk>/parent/", views.ParentView.as_view(), name="parent"),
    path("<int:pk>/time/", views.TimeEntryView.as_view(), name="time"),
    path("<int:pk>/attach/", views.AttachView.as_view(), name="attach"),
    path(
        "<int:pk>/attachments/<int:attachment_pk>/",
        views.AttachmentDownloadView.as_view(),
        name="attachment",
    ),
]
