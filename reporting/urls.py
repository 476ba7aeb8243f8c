from django.urls import path

from reporting import views

app_name = "reporting"


urlpatterns = [
    path("", views.ReportListView.as_view(), name="list"),
    path("generate/", views.ReportGenerateView.as_view(), name="generate"),
    path("<int:pk>/", views.ReportDetailView.as_view(), name="detail"),
    path("<int:pk>/annotate/", views.ReportAnnotateView.as_view(), name="annotate"),
    path("<int:pk>/send/", views.ReportSendView.as_view(), name="send"),
    path(
        "<int:pk>/<file_format:file_format>/",
        views.StaffReportDownloadView.as_view(),
        name="download",
    ),
]
