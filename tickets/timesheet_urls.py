"""The timesheet, time approval and the ticket timer: workspace pages (included by msp/urls.py
into the workspace: namespace)."""

from django.urls import path

from tickets import timesheet_views as views

urlpatterns = [
    path("time/", views.TimesheetView.as_view(), name="timesheet"),
    path("time/entries/new/", views.TimesheetEntryAddView.as_view(), name="timesheet-add"),
    path(
        "time/entries/<int:pk>/edit/",
        views.TimesheetEntryEditView.as_view(),
        name="timesheet-edit",
    ),
    path(
        "time/entries/<int:pk>/delete/",
        views.TimesheetEntryDeleteView.as_view(),
        name="timesheet-delete",
    ),
    path(
        "time/entries/<int:pk>/recall/",
        views.TimesheetEntryRecallView.as_view(),
        name="timesheet-recall",
    ),
    path("time/submit/", views.TimesheetSubmitView.as_view(), name="timesheet-submit"),
    path("time/approval/", views.TimeApprovalView.as_view(), name="time-approval"),
    path("time/approval/<int:pk>/reject/", views.TimeRejectView.as_view(), name="time-reject"),
    path("time/timer/ticket/<int:pk>/", views.TimerView.as_view(), name="timer"),
    path("time/timer/ticket/<int:pk>/start/", views.TimerStartView.as_view(), name="timer-start"),
    path("time/timer/stop/", views.TimerStopView.as_view(), name="timer-stop"),
    path("time/timer/discard/", views.TimerDiscardView.as_view(), name="timer-discard"),
]
