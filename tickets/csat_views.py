"""The satisfaction links of resolution emails: public (the signed link is the credential),
one click records the rating, then an optional comment."""

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from tickets.csat import SurveyLinkError, survey_answer, survey_comment, survey_from_token

LINK_PROBLEMS = {
    "expired": (410, "This link has expired", "Rating links work for a limited time."),
    "invalid": (404, "This link is not valid", "Check that the whole link was copied."),
}


def _link_problem(request, reason: str):
    status, title, detail = LINK_PROBLEMS[reason]
    context = {"state": reason, "title": title, "detail": detail}
    return render(request, "tickets/csat.html", context, status=status)


class SurveyRateView(View):
    def get(self, request, token: str, rating: int):
        try:
            survey = survey_from_token(token)
        except SurveyLinkError as error:
            return _link_problem(request, error.reason)
        try:
            recorded = survey_answer(survey=survey, rating=rating, at=timezone.now())
        except ValidationError:
            return _link_problem(request, "invalid")
        context = {"survey": survey, "token": token, "state": "thanks" if recorded else "used"}
        return render(request, "tickets/csat.html", context, status=200 if recorded else 409)


class SurveyCommentView(View):
    def post(self, request, token: str):
        try:
            survey = survey_from_token(token)
        except SurveyLinkError as error:
            return _link_problem(request, error.reason)
        context = {"survey": survey, "token": token}
        try:
            added = survey_comment(survey=survey, comment=request.POST.get("comment", ""))
        except ValidationError as error:
            context.update(state="thanks", errors=error.messages)
            return render(request, "tickets/csat.html", context, status=400)
        context["state"] = "commented" if added else "used"
        return render(request, "tickets/csat.html", context, status=200 if added else 409)
