"""The queue page's triage: its context (sort, selection, saved views), bulk changes, the
row's "take it", and saved views. Thin: each POST validates a form and calls one service."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from msp.mixins import StaffRequiredMixin
from msp.paginators import page_of
from tickets import previews, selectors, services
from tickets.models import SavedView, Ticket
from tickets.queue_forms import BulkForm, SavedViewForm
from tickets.selectors import QUEUE_SORTS, SORT_LABELS, Queue
from tickets.services import bulk
from tickets.services.saved_views import (
    saved_view_create,
    saved_view_delete,
    saved_view_may_change,
    saved_view_may_share,
    saved_view_rename,
)

QUEUE_PAGE_SIZE = 50
PAGE_SIZES = (25, 50, 100)
SELECTED_LIMIT = bulk.BULK_LIMIT


def _page_size(value: str | None) -> int:
    return int(value) if value and value.isdigit() and int(value) in PAGE_SIZES else QUEUE_PAGE_SIZE


def _selected(query: QueryDict) -> set[int]:
    """Rows to show ticked (after a bulk change: those refused, to try again)."""
    values = [v for v in query.getlist("selected")[:SELECTED_LIMIT] if v.isdigit() and len(v) < 12]
    return {int(v) for v in values}


def _sort_headers(query: QueryDict, sort: str | None) -> dict[str, dict]:
    """Each sortable column's link (ascending first, then the reverse) and aria-sort."""
    parsed = selectors.queue_sort(sort)
    headers = {}
    for key in QUEUE_SORTS:
        state = "none"
        following = key
        if parsed and parsed[0] == key:
            state = "descending" if parsed[1] else "ascending"
            following = key if parsed[1] else f"-{key}"
        link = query.copy()
        link.pop("page", None)
        link.setlist("selected", [])
        link["sort"] = following
        headers[key] = {"label": SORT_LABELS[key], "aria": state, "query": link.urlencode()}
    return headers


def queue_page_context(request, query: QueryDict) -> dict:
    """Everything the queue page and its results fragment draw, in a fixed number of
    queries whatever the page size, the selection or the number of saved views."""
    user = request.user
    queue, filterset = selectors.queue_tickets(user=user, query=query, request=request)
    sort = query.get("sort") if selectors.queue_sort(query.get("sort")) else ""
    per_page = _page_size(query.get("per_page"))
    page = page_of(selectors.queue_ordered(filterset.qs, sort), query.get("page"), per_page)
    kept = query.copy()
    kept.pop("page", None)
    kept.setlist("selected", [])
    views = selectors.saved_views_visible(user=user)
    counts = selectors.saved_view_counts(user=user, views=views)
    current = selectors.saved_view_query(kept.urlencode()).urlencode()
    for view in views:
        view.count = counts.get(view.pk, 0)
        view.capped = view.count >= selectors.SAVED_VIEW_COUNT_CAP
        view.may_change = saved_view_may_change(view, user)
        view.is_current = view.querystring == current
    return {
        "queue": queue,
        "queues": Queue.LABELS,
        "filter": filterset,
        "page": page,
        "query": kept.urlencode(),
        "next_url": f"{reverse('tickets:queue')}?{kept.urlencode()}",
        "now": timezone.now(),
        "sort": sort,
        "per_page": per_page,
        "page_sizes": PAGE_SIZES,
        "sort_headers": _sort_headers(kept, sort),
        "selected": _selected(query),
        "saved_views": views,
        "saved_view_form": SavedViewForm(may_share=saved_view_may_share(user)),
        "saved_view_query": current,
        "bulk_form": BulkForm(),
    }


def _queue_url(request, next_url: str | None, selected=()) -> str:
    """Back to the queue as it was (only the queue's own path), with rows left ticked."""
    base = reverse("tickets:queue")
    if not (
        next_url
        and next_url.startswith(base)
        and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()})
    ):
        next_url = base
    _path, _, querystring = next_url.partition("?")
    query = QueryDict(querystring, mutable=True)
    query.setlist("selected", [str(pk) for pk in selected])
    return f"{base}?{query.urlencode()}" if query else base


class BulkView(StaffRequiredMixin, View):
    """POST a change to the tickets ticked in the queue: each through its single-ticket
    service (tickets/services/bulk.py), then one summary. Merge, close and cancel show their
    preview first."""

    def post(self, request):
        form = BulkForm(request.POST)
        if not form.is_valid():
            return render(request, "tickets/_bulk_errors.html", {"form": form}, status=400)
        data = form.cleaned_data
        if form.is_destructive:
            kind = {"merge": previews.MERGE, "close": previews.CLOSE}.get(
                data["action"], previews.CANCEL
            )
            values = form.confirmation_values()
            if not previews.is_confirmed(request, *values):
                try:
                    preview = previews.bulk_preview(
                        user=request.user,
                        kind=kind,
                        ticket_ids=data["tickets"],
                        target_id=data.get("target"),
                        action_url=reverse("tickets:bulk"),
                        cancel_url=_queue_url(request, data["next"], data["tickets"]),
                    )
                except ValidationError as error:
                    form.add_error(None, error.messages)
                    return render(request, "tickets/_bulk_errors.html", {"form": form}, status=400)
                preview.token_values = values
                preview.hidden = [
                    (name, request.POST[name])
                    for name in ("action", "target", "status", "note", "next")
                    if request.POST.get(name)
                ] + [("tickets", pk) for pk in data["tickets"]]
                return previews.render_preview(
                    request, preview, token=previews.token_for(preview), fragment=False
                )
        try:
            outcome = self.apply(request.user, data)
        except ValidationError as error:
            form.add_error(None, error.messages)
            return render(request, "tickets/_bulk_errors.html", {"form": form}, status=400)
        level = messages.WARNING if outcome.refused else messages.SUCCESS
        messages.add_message(request, level, outcome.summary)
        refused = [pk for pk, _reason in outcome.refused]
        return redirect(_queue_url(request, data["next"], refused))

    def apply(self, actor, data: dict) -> bulk.BulkOutcome:
        ids = data["tickets"]
        action = data["action"]
        if action == BulkForm.ASSIGN:
            return bulk.tickets_bulk_assign(actor=actor, ticket_ids=ids, assignee=data["assignee"])
        if action == BulkForm.ROUTE:
            return bulk.tickets_bulk_route(
                actor=actor, ticket_ids=ids, team=data["team"], tier=data["tier"]
            )
        if action == BulkForm.STATUS:
            return bulk.tickets_bulk_set_status(
                actor=actor, ticket_ids=ids, status=data["status"], note=data["note"]
            )
        if action == BulkForm.PRIORITY:
            return bulk.tickets_bulk_change_priority(
                actor=actor, ticket_ids=ids, priority=data["priority"], reason=data["reason"]
            )
        if action == BulkForm.MERGE:
            return bulk.tickets_bulk_merge(actor=actor, ticket_ids=ids, target_id=data["target"])
        return bulk.tickets_bulk_close(actor=actor, ticket_ids=ids)


class RowTakeView(StaffRequiredMixin, View):
    """The row's "take it": the ticket assigned to the user (the same service as the ticket
    page's), answered with the row redrawn (htmx) or back to the queue."""

    def post(self, request, pk: int):
        ticket = get_object_or_404(Ticket.objects.for_user(request.user), pk=pk)
        error = ""
        try:
            services.ticket_assign(ticket=ticket, actor=request.user, assignee=request.user)
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        if not request.htmx:
            if error:
                messages.error(request, f"#{pk}: {error}")
            else:
                messages.success(request, f"#{pk} is yours.")
            return redirect(_queue_url(request, request.POST.get("next")))
        row = Ticket.objects.for_user(request.user).with_list_related().get(pk=pk)
        context = {
            "ticket": row,
            "now": timezone.now(),
            "row_error": error,
            "selected": set(),
            "tickets_url": reverse("tickets:queue"),
        }
        return render(request, "tickets/_queue_row.html", context)


class SavedViewCreateView(StaffRequiredMixin, View):
    def post(self, request):
        form = SavedViewForm(request.POST, may_share=saved_view_may_share(request.user))
        querystring = request.POST.get("querystring", "")
        if form.is_valid():
            try:
                view = saved_view_create(
                    owner=request.user,
                    name=form.cleaned_data["name"],
                    querystring=querystring,
                    shared=form.cleaned_data.get("shared", False),
                )
            except ValidationError as error:
                form.add_error("name", error.messages)
            else:
                messages.success(request, f"View {view.name!r} saved.")
                return redirect(f"{reverse('tickets:queue')}?{view.querystring}")
        return render(request, "tickets/_bulk_errors.html", {"form": form}, status=400)


def _changeable_view(request, pk: int) -> SavedView:
    """A view the user sees (their own or a shared one), and may change."""
    view = SavedView.objects.filter(Q(owner=request.user) | Q(shared=True), pk=pk).first()
    if view is None:
        raise Http404("No such view.")
    if not saved_view_may_change(view, request.user):
        raise PermissionDenied("This view is not yours to change.")
    return view


class SavedViewRenameView(StaffRequiredMixin, View):
    def post(self, request, pk: int):
        view = _changeable_view(request, pk)
        form = SavedViewForm(request.POST, instance=view)
        if form.is_valid():
            try:
                saved_view_rename(view=view, actor=request.user, name=form.cleaned_data["name"])
            except ValidationError as error:
                form.add_error("name", error.messages)
            else:
                messages.success(request, f"View renamed {view.name!r}.")
                return redirect(f"{reverse('tickets:queue')}?{view.querystring}")
        return render(request, "tickets/_bulk_errors.html", {"form": form}, status=400)


class SavedViewDeleteView(StaffRequiredMixin, View):
    def post(self, request, pk: int):
        view = _changeable_view(request, pk)
        name = view.name
        saved_view_delete(view=view, actor=request.user)
        messages.success(request, f"View {name!r} deleted.")
        return redirect("tickets:queue")
