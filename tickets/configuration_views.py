"""The priority matrix and the inbound mailboxes in the workspace (tabs of the directory).
Staff read the matrix, administrators change it; mailboxes hold credentials and their pages
are administrators' alone. Writes call the services the API calls."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters

from msp.choices import UserRole
from msp.directory_views import (
    ADMINISTRATORS,
    DirectoryActiveView,
    DirectoryEditView,
    DirectoryListView,
    add_service_errors,
    directory_tabs,
)
from msp.mixins import RoleRequiredMixin, StaffRequiredMixin
from tickets.choices import Urgency
from tickets.configuration_forms import MailboxForm, PriorityMatrixForm
from tickets.models import Mailbox
from tickets.services.configuration import (
    mailbox_create,
    mailbox_update,
    priority_matrix,
    priority_matrix_set,
)


class PriorityMatrixView(StaffRequiredMixin, View):
    template_name = "tickets/priority_matrix.html"

    def get(self, request):
        return self._render(PriorityMatrixForm(matrix=priority_matrix()))

    def post(self, request):
        if request.user.role != UserRole.ADMIN:
            messages.error(request, "Only administrators change the priority matrix.")
            return self._render(PriorityMatrixForm(matrix=priority_matrix()), status=403)
        form = PriorityMatrixForm(request.POST, matrix=priority_matrix())
        if form.is_valid():
            try:
                priority_matrix_set(cells=form.cells())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Priority matrix saved; new tickets take it.")
                return redirect("workspace:priority-matrix")
        return self._render(form, status=400)

    def _render(self, form, status=200):
        context = {
            "form": form,
            "urgencies": Urgency.labels,
            "can_edit": self.request.user.role == UserRole.ADMIN,
            "kind": "priority-matrix",
            "directory_tabs": directory_tabs(self.request.user),
        }
        return render(self.request, self.template_name, context, status=status)


class MailboxListView(RoleRequiredMixin, DirectoryListView):
    allowed_roles = ADMINISTRATORS
    template_name = "tickets/mailbox_list.html"
    kind = "mailboxes"
    search_fields = ("name", "host", "username")
    editor_roles = ADMINISTRATORS

    def rows(self):
        return Mailbox.objects.select_related("default_client").order_by("name")


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class MailboxEditView(DirectoryEditView):
    allowed_roles = ADMINISTRATORS
    model = Mailbox
    form_class = MailboxForm
    kind = "mailboxes"
    noun = "mailbox"

    def rows(self):
        return Mailbox.objects.all()

    def create(self, form):
        return mailbox_create(**form.service_fields())

    def update(self, row, form):
        return mailbox_update(mailbox=row, **form.service_fields())


class MailboxActiveView(DirectoryActiveView):
    allowed_roles = ADMINISTRATORS
    edit_view = MailboxEditView

    def change(self, row, *, active):
        return mailbox_update(mailbox=row, is_active=active)
