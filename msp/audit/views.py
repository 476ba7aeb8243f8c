"""The audit trail in the workspace: one searchable list for administrators (and its CSV), and
each audited object's history for those who manage configuration. Read-only: GET only."""

from django.apps import apps
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.generic import TemplateView

from msp.audit.export import csv_lines
from msp.audit.forms import AuditFilterForm
from msp.audit.registry import audited_models
from msp.audit.selectors import audit_entries, audit_entries_filter, audit_entries_for_object
from msp.choices import SERVICE_MANAGER_ROLES, UserRole
from msp.mixins import RoleRequiredMixin
from msp.paginators import page_of

PER_PAGE = 50


class AuditListView(RoleRequiredMixin, TemplateView):
    """Every audited change, filtered by record, object, actor, source, dates and text."""

    allowed_roles = (UserRole.ADMIN,)
    http_method_names = ["get", "head", "options"]
    template_name = "audit/audit_list.html"

    def get(self, request, *args, **kwargs):
        form = AuditFilterForm(request.GET or None)
        entries = audit_entries_filter(audit_entries(), **form.filters())
        if request.GET.get("format") == "csv":
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            response = StreamingHttpResponse(
                csv_lines(entries.iterator(chunk_size=500)), content_type="text/csv"
            )
            response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
            return response
        query = request.GET.copy()
        query.pop("page", None)
        context = self.get_context_data(
            form=form,
            page=page_of(entries, request.GET.get("page"), PER_PAGE),
            query=query.urlencode(),
        )
        return self.render_to_response(context)


class ObjectHistoryView(RoleRequiredMixin, TemplateView):
    """One object's changes and those of its parts, newest first."""

    allowed_roles = SERVICE_MANAGER_ROLES
    http_method_names = ["get", "head", "options"]
    template_name = "audit/object_history.html"

    def get_context_data(self, **kwargs):
        try:
            model = apps.get_model(self.kwargs["label"])
        except (LookupError, ValueError):
            raise Http404("No such record.") from None
        if model not in audited_models():
            raise Http404("No such record.")
        queryset = model._default_manager.all()
        if hasattr(queryset, "for_user"):
            queryset = queryset.for_user(self.request.user)
        instance = get_object_or_404(queryset, pk=self.kwargs["pk"])
        entries = audit_entries_for_object(instance)
        return super().get_context_data(
            object=instance,
            verbose_name=model._meta.verbose_name,
            page=page_of(entries, self.request.GET.get("page"), PER_PAGE),
            query="",
            **kwargs,
        )
