"""The canned responses page: one's own and the shared ones; shared ones kept by
administrators and dispatchers (tickets/canned.py holds the rules)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from msp.mixins import StaffRequiredMixin
from tickets import canned, forms
from tickets.models import CannedResponse


def _save(request, form, instance: CannedResponse | None) -> CannedResponse | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        return canned.canned_response_save(
            user=request.user,
            title=data["title"],
            body=data["body"],
            shared=data.get("shared", False),
            canned=instance,
        )
    except PermissionDenied as error:
        form.add_error(None, str(error))
        return None


class CannedListView(StaffRequiredMixin, View):
    template_name = "tickets/canned_list.html"

    def context(self, request, form) -> dict:
        responses = list(canned.canned_for_user(request.user))
        return {
            "own": [r for r in responses if r.owner_id == request.user.pk],
            "shared": [r for r in responses if r.owner_id is None],
            "may_share": canned.may_share(request.user),
            "form": form,
            "placeholders": [(name, label) for name, (label, _) in canned.PLACEHOLDERS.items()],
        }

    def get(self, request):
        form = forms.CannedResponseForm(may_share=canned.may_share(request.user))
        return render(request, self.template_name, self.context(request, form))

    def post(self, request):
        form = forms.CannedResponseForm(request.POST, may_share=canned.may_share(request.user))
        saved = _save(request, form, None)
        if saved is not None:
            messages.success(request, f"Canned response “{saved.title}” saved.")
            return redirect("tickets:canned-list")
        return render(request, self.template_name, self.context(request, form), status=400)


class CannedEditView(StaffRequiredMixin, View):
    template_name = "tickets/canned_edit.html"

    def get_object(self, request, canned_pk: int) -> CannedResponse:
        response = get_object_or_404(canned.canned_for_user(request.user), pk=canned_pk)
        if not canned.canned_may_edit(user=request.user, canned=response):
            raise PermissionDenied("Shared responses are kept by administrators and dispatchers.")
        return response

    def context(self, request, form, response) -> dict:
        return {
            "form": form,
            "canned": response,
            "unknown": canned.unknown_placeholders(form["body"].value() or ""),
            "placeholders": [(name, label) for name, (label, _) in canned.PLACEHOLDERS.items()],
        }

    def get(self, request, canned_pk: int):
        response = self.get_object(request, canned_pk)
        form = forms.CannedResponseForm(instance=response, may_share=canned.may_share(request.user))
        return render(request, self.template_name, self.context(request, form, response))

    def post(self, request, canned_pk: int):
        response = self.get_object(request, canned_pk)
        form = forms.CannedResponseForm(
            request.POST, instance=response, may_share=canned.may_share(request.user)
        )
        saved = _save(request, form, response)
        if saved is not None:
            messages.success(request, f"Canned response “{saved.title}” saved.")
            return redirect("tickets:canned-list")
        return render(
            request, self.template_name, self.context(request, form, response), status=400
        )


class CannedDeleteView(StaffRequiredMixin, View):
    def post(self, request, canned_pk: int):
        response = get_object_or_404(canned.canned_for_user(request.user), pk=canned_pk)
        canned.canned_response_delete(user=request.user, canned=response)
        messages.success(request, f"Canned response “{response.title}” deleted.")
        return redirect("tickets:canned-list")
