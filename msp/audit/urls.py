from django.urls import path

from msp.audit import views

# Included in the workspace: namespace by msp/urls.py.
urlpatterns = [
    path("audit/", views.AuditListView.as_view(), name="audit-list"),
    path(
        "audit/<str:label>/<int:pk>/",
        views.ObjectHistoryView.as_view(),
        name="audit-object",
    ),
]
