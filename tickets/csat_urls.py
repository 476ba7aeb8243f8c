"""Satisfaction survey links from resolution emails: no sign-in, the signed token is the key."""

from django.urls import path

from tickets import csat_views

urlpatterns = [
    path("<str:token>/<int:rating>/", csat_views.SurveyRateView.as_view(), name="csat-rate"),
    path("<str:token>/comment/", csat_views.SurveyCommentView.as_view(), name="csat-comment"),
]
