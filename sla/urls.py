from django.urls import path

from sla import views

app_name = "sla"

urlpatterns = [
    path("calendars/", views.CalendarListView.as_view(), name="calendar-list"),
    path("calendars/new/", views.CalendarEditView.as_view(), name="calendar-create"),
    path("calendars/<int:pk>/", views.CalendarDetailView.as_view(), name="calendar-detail"),
    path("calendars/<int:pk>/edit/", views.CalendarEditView.as_view(), name="calendar-edit"),
    path("calendars/<int:pk>/holidays/add/", views.HolidayAddView.as_view(), name="holiday-add"),
    path(
        "calendars/<int:pk>/holidays/import/",
        views.HolidayImportView.as_view(),
        name="holiday-import",
    ),
    path(
        "calendars/<int:pk>/holidays/<int:holiday_pk>/delete/",
        views.HolidayDeleteView.as_view(),
        name="holiday-delete",
    ),
    path("policies/", views.PolicyListView.as_view(), name="policy-list"),
    path("policies/new/", views.PolicyEditView.as_view(), name="policy-create"),
    path("policies/<int:pk>/edit/", views.PolicyEditView.as_view(), name="policy-edit"),
    path("policies/<int:pk>/rules/", views.EscalationRulesView.as_view(), name="escalation-rules"),
]
