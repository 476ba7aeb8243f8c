from django.urls import path

from contracts import views

app_name = "contracts"

urlpatterns = [
    path("", views.ContractListView.as_view(), name="list"),
    path("new/", views.ContractEditView.as_view(), name="create"),
    path("<int:pk>/", views.ContractDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.ContractEditView.as_view(), name="edit"),
    path("<int:pk>/status/", views.ContractStatusView.as_view(), name="status"),
    path("<int:pk>/evaluate/", views.ContractEvaluateView.as_view(), name="evaluate"),
    path("<int:pk>/<str:part>/new/", views.ContractPartEditView.as_view(), name="part-create"),
    path(
        "<int:pk>/<str:part>/<int:part_pk>/",
        views.ContractPartEditView.as_view(),
        name="part-edit",
    ),
    path(
        "<int:pk>/<str:part>/<int:part_pk>/delete/",
        views.ContractPartDeleteView.as_view(),
        name="part-delete",
    ),
    path(
        "<int:pk>/evaluations/<int:evaluation_pk>/plans/",
        views.RemediationPlanAddView.as_view(),
        name="plan-add",
    ),
    path(
        "<int:pk>/exemptions/<int:exemption_pk>/revoke/",
        views.ExemptionRevokeView.as_view(),
        name="exemption-revoke",
    ),
    path("clocks/<int:clock_pk>/exempt/", views.BreachExemptView.as_view(), name="exempt"),
]
