"""The technician workspace: queues, the ticket page and its actions, phone intake.

Thin: each POST validates a form and calls one service; GET never changes anything.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, prefetch_related_objects
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from contracts.choices import ExemptionCause
from contracts.models import BreachExemption
from msp import live
from msp.choices import SERVICE_MANAGER_ROLES, UserRole
from msp.mixins import RoleRequiredMixin, StaffRequiredMixin
from msp.models import Client
from msp.paginators import page_of
from sla.choices import ClockKind
from tickets import canned, forms, previews, selectors, services
from tickets import live as ticket_live
from tickets.attachments import attachment_response
from tickets.choices import TicketStatus
from tickets.intake import alerts
from tickets.models import Attachment, Ticket, UnroutedAlert
from tickets.queue_views import queue_page_context
from tickets.rendering import markdown_to_safe_html

QUEUE_PAGE_SIZE = 50


class QueueView(StaffRequiredMixin, TemplateView):
    template_name = "tickets/queue.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(queue_page_context(self.request, self.request.GET))
        return context

    def get_template_names(self):
        if self.request.htmx and self.request.htmx.target == "queue-results":
            return ["tickets/_queue_results.html"]
        return [self.template_name]


class QueueLiveView(QueueView):
    """htmx polling every LIVE_POLL_SECONDS (static/js/live.js): a queue's results for the
    query the page shows, or 304 while the tickets it lists are unchanged."""

    session_passive = True  # a background poll: not activity that keeps a session alive

    def get(self, request, *args, **kwargs):
        query = request.GET
        _, filterset = selectors.queue_tickets(user=request.user, query=query, request=request)
        etag = ticket_live.queue_fingerprint(user=request.user, tickets=filterset.qs, query=query)
        return live.conditional(request, etag, lambda: super(QueueLiveView, self).get(request))

    def get_template_names(self):
        return ["tickets/_queue_results.html"]


class TicketCreateView(StaffRequiredMixin, View):
    template_name = "tickets/ticket_create.html"

    def get(self, request):
        form = forms.TicketCreateForm(
            initial={"client": request.GET.get("client")}, user=request.user
        )
        return render(request, self.template_name, {"form": form})

    def post(self, request):
        form = forms.TicketCreateForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                ticket = services.ticket_open(
                    created_by=request.user,
                    priority=data.pop("priority") or None,
                    **data,
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, f"Ticket {ticket.number} opened.")
                return redirect("tickets:detail", pk=ticket.pk)
        return render(request, self.template_name, {"form": form}, status=400)


class ClientFieldsView(StaffRequiredMixin, View):
    """htmx: the contact, site and asset choices of the chosen client."""

    def get(self, request):
        form = forms.TicketCreateForm(
            initial={"client": request.GET.get("client")}, user=request.user
        )
        return render(request, "tickets/_client_fields.html", {"form": form})


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


def _visible_ticket(request, pk: int) -> Ticket:
    try:
        return selectors.ticket_detail(user=request.user, pk=pk)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None


CLOCK_ORDER = {ClockKind.RESPONSE: 0, ClockKind.RESOLUTION: 1, ClockKind.NEXT_UPDATE: 2}


def _ordered_clocks(ticket: Ticket) -> list:
    clocks = sorted(ticket.sla_clocks.all(), key=lambda c: (CLOCK_ORDER[c.kind], c.cycle))
    # Breach exemptions (with their audit trail) in one more query, for every clock at once.
    prefetch_related_objects(
        clocks,
        Prefetch(
            "exemptions",
            queryset=BreachExemption.objects.select_related("granted_by", "revoked_by"),
        ),
    )
    for clock in clocks:
        clock.exemption_in_force = any(e.in_force for e in clock.exemptions.all())
    return clocks


def _clock_context(request, ticket: Ticket) -> dict:
    return {
        "ticket": ticket,
        "clocks": _ordered_clocks(ticket),
        "now": timezone.now(),
        "can_exempt": request.user.role in SERVICE_MANAGER_ROLES,
        "exemption_causes": ExemptionCause.choices,
    }


def _presence_others(request, ticket_id: int) -> list[live.Presence]:
    return live.presence_of(
        kind=ticket_live.PRESENCE_KIND, object_id=ticket_id, exclude_user_id=request.user.pk
    )


def _latest_event_id(ticket: Ticket) -> int | None:
    # The events are prefetched by the selector; ordered by time, so the newest id is the max.
    return max((event.pk for event in ticket.events.all()), default=None)


def _composer_context(request, ticket: Ticket) -> dict:
    """The two composers (each its own form: a note can never be sent as a reply), drawn
    with the latest timeline entry so that a reply written without seeing a newer one is
    refused once; the canned responses the user may insert; the live poll."""
    seen = {"seen_event": _latest_event_id(ticket) or 0}
    return {
        "reply_form": forms.ReplyForm(initial=seen),
        "note_form": forms.NoteForm(initial=seen),
        "live_poll_seconds": live.poll_seconds(),
        "presence": _presence_others(request, ticket.pk),
    }


def _page_context(request, ticket: Ticket, **forms_given) -> dict:
    context = {
        **_clock_context(request, ticket),
        **_composer_context(request, ticket),
        **_action_forms(ticket),
    }
    context.update(forms_given)
    return context


def _action_forms(ticket: Ticket) -> dict:
    return {
        "assign_form": forms.AssignForm(
            initial={"assignee": ticket.assignee_id}, client_id=ticket.client_id
        ),
        "contact_form": forms.ContactForm(
            initial={"contact": ticket.contact_id}, client_id=ticket.client_id
        ),
        "status_form": forms.StatusForm(initial={"status": ticket.status}),
        "priority_form": forms.PriorityForm(
            initial={"impact": ticket.impact, "urgency": ticket.urgency}
        ),
        "escalate_form": forms.ReasonForm(),
        "resolve_form": forms.ResolveForm(),
        "reopen_form": forms.ReasonForm(),
        "merge_form": forms.MergeForm(),
        "parent_form": forms.ParentForm(initial={"parent": ticket.parent_id}),
        "time_form": forms.TimeEntryForm(),
        "attachment_form": forms.AttachmentForm(),
    }


def _presence_beat(request, ticket_id: int, state: str = live.VIEWING) -> None:
    live.presence_beat(
        kind=ticket_live.PRESENCE_KIND,
        object_id=ticket_id,
        user_id=request.user.pk,
        name=request.user.full_name or request.user.email,
        state=state,
    )


class TicketDetailView(StaffRequiredMixin, View):
    def get(self, request, pk: int):
        ticket = _visible_ticket(request, pk)
        _presence_beat(request, ticket.pk)
        context = _page_context(request, ticket)
        # The first poll answers 304 unless something changed since this page was drawn.
        context["live_etag"] = ticket_live.ticket_fingerprint(
            user=request.user,
            state=(ticket.updated_at, _latest_event_id(ticket)),
            others=context["presence"],
        )
        return render(request, "tickets/ticket_detail.html", context)


class TicketLiveView(StaffRequiredMixin, View):
    """htmx polling every LIVE_POLL_SECONDS: the ticket's header, clocks, timeline, files and
    actions as out-of-band fragments (never the composers, so typing is not lost), or 304 when
    nothing changed. The poll is also the heartbeat of "Alex is viewing / replying": a
    cache entry with a short expiry, no database write."""

    session_passive = True  # a background poll: not activity that keeps a session alive

    def get(self, request, pk: int):
        state = ticket_live.ticket_state(user=request.user, pk=pk)
        if state is None:
            raise Http404("No such ticket.")
        typing = request.GET.get("state") == live.TYPING
        _presence_beat(request, pk, live.TYPING if typing else live.VIEWING)
        others = _presence_others(request, pk)
        etag = ticket_live.ticket_fingerprint(user=request.user, state=state, others=others)

        def fragment():
            ticket = _visible_ticket(request, pk)
            context = _page_context(request, ticket, live_fragment=True, presence=others)
            return render(request, "tickets/_ticket_main.html", context)

        return live.conditional(request, etag, fragment)


class ComposerPreviewView(StaffRequiredMixin, View):
    """htmx: the composer's Markdown as it will be stored, through the same sanitiser."""

    def post(self, request, pk: int):
        _visible_ticket(request, pk)
        body = request.POST.get("body", "")
        return render(
            request,
            "tickets/_composer_preview.html",
            {"html": markdown_to_safe_html(body), "empty": not body.strip()},
        )


class CannedMenuView(StaffRequiredMixin, View):
    """htmx, when the composer's canned-response menu is first opened: the user's own and the
    shared ones (read then, not with every page)."""

    def get(self, request, pk: int):
        ticket = _visible_ticket(request, pk)
        responses = canned.canned_for_user(request.user).only("pk", "title", "owner")
        context = {"ticket": ticket, "canned_responses": responses}
        return render(request, "tickets/_composer_canned_menu.html", context)


class CannedInsertView(StaffRequiredMixin, View):
    """A canned response with its placeholders filled for this ticket, as JSON for the
    composer: the text and the placeholders left unknown."""

    def get(self, request, pk: int, canned_pk: int):
        ticket = _visible_ticket(request, pk)
        response = get_object_or_404(canned.canned_for_user(request.user), pk=canned_pk)
        filled = canned.canned_fill(body=response.body, ticket=ticket, user=request.user)
        return JsonResponse({"text": filled.text, "unknown": list(filled.unknown)})


class TicketActionView(StaffRequiredMixin, View):
    """POST one action to one ticket. Success: the refreshed ticket (htmx) or a redirect.
    Invalid input: the same page or fragment with the form's errors, nothing saved."""

    form_class: type = forms.ReasonForm
    form_name = ""
    success_message = ""

    def perform(self, ticket: Ticket, data: dict) -> str | None:
        """Carry out the action; a returned text replaces the success message."""
        raise NotImplementedError

    def form_kwargs(self, ticket: Ticket) -> dict:
        return {}

    def preview(self, ticket: Ticket, data: dict):
        """None to go ahead, or a page asking to confirm (tickets/previews.py)."""
        return None

    def confirm_page(self, ticket: Ticket, preview: previews.Preview):
        token = previews.token_for(preview)
        if previews.is_confirmed(self.request, *preview.token_values):
            return None
        preview.cancel_url = reverse("tickets:detail", args=[ticket.pk])
        preview.htmx_target = "#ticket-main" if self.request.htmx else ""
        return previews.render_preview(
            self.request, preview, token=token, fragment=bool(self.request.htmx)
        )

    def post(self, request, pk: int):
        ticket = _visible_ticket(request, pk)
        form = self.form_class(request.POST, request.FILES, **self.form_kwargs(ticket))
        if form.is_valid():
            try:
                # A change that cannot be undone answers with its preview until confirmed.
                preview = self.preview(ticket, form.cleaned_data)
                if preview is not None:
                    return preview
                said = self.perform(ticket, form.cleaned_data) or self.success_message
            except ValidationError as error:
                _add_errors(form, error)
            else:
                if not request.htmx:
                    messages.success(request, said)
                    return redirect("tickets:detail", pk=pk)
                ticket = _visible_ticket(request, pk)
                context = _page_context(request, ticket, flash=said)
                return render(request, "tickets/_ticket_main.html", context)
        context = _page_context(request, ticket, open_panel=self.form_name, failed_form=form)
        if self.form_name:
            context[self.form_name] = form
        if request.htmx:
            return render(request, "tickets/_ticket_main.html", context)
        return render(request, "tickets/ticket_detail.html", context, status=400)


class ComposerView(TicketActionView):
    """A reply or a note. Written without seeing someone else's newer reply or note (the
    form's `seen_event` is older), it is not sent: the page comes back with the new entries,
    a warning and the text kept, ready to be sent again after review."""

    def post(self, request, pk: int):
        ticket = _visible_ticket(request, pk)
        form = self.form_class(request.POST, request.FILES)
        if form.is_valid():
            stale = ticket_live.stale_write_check(
                ticket=ticket, user=request.user, seen_event_id=form.cleaned_data["seen_event"]
            )
            if stale is not None:
                return self.refuse_stale(request, form, stale)
        return super().post(request, pk)

    def refuse_stale(self, request, form, stale: ticket_live.StaleWrite):
        data = request.POST.copy()
        data["seen_event"] = str(stale.latest_event_id)  # sending again is then deliberate
        kept = self.form_class(data)
        ticket = _visible_ticket(request, self.kwargs["pk"])
        context = _page_context(
            request, ticket, open_panel=self.form_name, stale_warning=stale.message
        )
        context[self.form_name] = kept
        if request.htmx:
            return render(request, "tickets/_ticket_main.html", context)
        return render(request, "tickets/ticket_detail.html", context, status=409)


class ReplyView(ComposerView):
    form_class, form_name, success_message = forms.ReplyForm, "reply_form", "Reply sent."

    def perform(self, ticket, data):
        comment = services.ticket_reply(
            ticket=ticket,
            author=self.request.user,
            body=data["body"],
            attachments=data["attachments"],
        )
        if comment.reached_nobody:
            return "Reply kept, but nobody received it: add a contact. It is no response."
        return None


class NoteView(ComposerView):
    """An internal note: staff only, never emailed (ticket_note sends nothing)."""

    form_class, form_name, success_message = forms.NoteForm, "note_form", "Note added."

    def perform(self, ticket, data):
        services.ticket_note(
            ticket=ticket,
            author=self.request.user,
            body=data["body"],
            attachments=data["attachments"],
        )


class AcknowledgeView(TicketActionView):
    form_class, success_message = forms.forms.Form, "Acknowledged."

    def perform(self, ticket, data):
        services.ticket_acknowledge(ticket=ticket, actor=self.request.user)


class AssignView(TicketActionView):
    form_class, form_name, success_message = forms.AssignForm, "assign_form", "Assignment saved."

    def form_kwargs(self, ticket):
        return {"client_id": ticket.client_id}

    def perform(self, ticket, data):
        services.ticket_assign(ticket=ticket, actor=self.request.user, assignee=data["assignee"])


class ContactView(TicketActionView):
    form_class, form_name, success_message = forms.ContactForm, "contact_form", "Contact saved."

    def form_kwargs(self, ticket):
        return {"client_id": ticket.client_id}

    def perform(self, ticket, data):
        services.ticket_set_contact(ticket=ticket, actor=self.request.user, contact=data["contact"])


class TakeView(TicketActionView):
    form_class, success_message = forms.forms.Form, "The ticket is yours."

    def perform(self, ticket, data):
        services.ticket_assign(ticket=ticket, actor=self.request.user, assignee=self.request.user)


class StatusView(TicketActionView):
    form_class, form_name, success_message = forms.StatusForm, "status_form", "Status changed."

    def preview(self, ticket, data):
        if data["status"] != TicketStatus.CANCELLED:
            return None
        preview = previews.single_preview(
            user=self.request.user,
            kind=previews.CANCEL,
            ticket_id=ticket.pk,
            hidden=[("status", data["status"]), ("note", data["note"])],
            action_url=reverse("tickets:status", args=[ticket.pk]),
        )
        return self.confirm_page(ticket, preview)

    def perform(self, ticket, data):
        services.ticket_change_status(
            ticket=ticket, actor=self.request.user, status=data["status"], note=data["note"]
        )


class PriorityView(TicketActionView):
    form_class, form_name, success_message = forms.PriorityForm, "priority_form", "Priority saved."

    def perform(self, ticket, data):
        services.ticket_change_priority(
            ticket=ticket,
            actor=self.request.user,
            impact=data["impact"],
            urgency=data["urgency"],
            priority=data["priority"] or None,
            reason=data["reason"],
        )


class EscalateView(TicketActionView):
    form_class, form_name, success_message = forms.ReasonForm, "escalate_form", "Escalated."

    def perform(self, ticket, data):
        services.ticket_escalate(ticket=ticket, actor=self.request.user, reason=data["reason"])


class ResolveView(TicketActionView):
    form_class, form_name, success_message = forms.ResolveForm, "resolve_form", "Resolved."

    def perform(self, ticket, data):
        services.ticket_resolve(
            ticket=ticket, actor=self.request.user, resolution=data["resolution"]
        )


class ReopenView(TicketActionView):
    form_class, form_name, success_message = forms.ReasonForm, "reopen_form", "Reopened."

    def perform(self, ticket, data):
        services.ticket_reopen(ticket=ticket, actor=self.request.user, reason=data["reason"])


class CloseView(TicketActionView):
    form_class, success_message = forms.forms.Form, "Closed."

    def preview(self, ticket, data):
        preview = previews.single_preview(
            user=self.request.user,
            kind=previews.CLOSE,
            ticket_id=ticket.pk,
            action_url=reverse("tickets:close", args=[ticket.pk]),
        )
        return self.confirm_page(ticket, preview)

    def perform(self, ticket, data):
        services.ticket_close(ticket=ticket, actor=self.request.user)


class MergeView(TicketActionView):
    form_class, form_name, success_message = forms.MergeForm, "merge_form", "Merged."

    def preview(self, ticket, data):
        preview = previews.single_merge_preview(
            user=self.request.user,
            source_id=ticket.pk,
            target_id=data["target"],
            action_url=reverse("tickets:merge", args=[ticket.pk]),
        )
        return self.confirm_page(ticket, preview)

    def perform(self, ticket, data):
        target = Ticket.objects.for_user(self.request.user).filter(pk=data["target"]).first()
        if target is None:
            raise ValidationError({"target": f"There is no ticket #{data['target']}."})
        services.ticket_merge(source=ticket, target=target, actor=self.request.user)


class ParentView(TicketActionView):
    form_class, form_name, success_message = forms.ParentForm, "parent_form", "Link saved."

    def perform(self, ticket, data):
        parent = None
        if data["parent"]:
            parent = Ticket.objects.for_user(self.request.user).filter(pk=data["parent"]).first()
            if parent is None:
                raise ValidationError({"parent": f"There is no ticket #{data['parent']}."})
        services.ticket_link_parent(ticket=ticket, parent=parent, actor=self.request.user)


class TimeEntryView(TicketActionView):
    form_class, form_name = forms.TimeEntryForm, "time_form"
    success_message = "Time logged as a draft: submit it with your week on your timesheet."

    def perform(self, ticket, data):
        services.time_entry_log(ticket=ticket, user=self.request.user, **data)


class AttachView(TicketActionView):
    form_class, form_name, success_message = forms.AttachmentForm, "attachment_form", "Files added."

    def perform(self, ticket, data):
        for upload in data["attachments"]:
            services.attachment_add(ticket=ticket, upload=upload, user=self.request.user)


class AttachmentDownloadView(StaffRequiredMixin, View):
    def get(self, request, pk: int, attachment_pk: int):
        attachment = get_object_or_404(
            Attachment.objects.for_user(request.user), pk=attachment_pk, ticket_id=pk
        )
        return attachment_response(attachment)


class TicketSlaFragmentView(StaffRequiredMixin, View):
    """htmx polling: the clock panel, refreshed while the page is open."""

    session_passive = True  # a background poll: not activity that keeps a session alive

    def get(self, request, pk: int):
        ticket = _visible_ticket(request, pk)
        return render(request, "tickets/_clocks.html", _clock_context(request, ticket))


class UnroutedAlertListView(RoleRequiredMixin, View):
    """Alerts kept because their client or asset was unknown, waiting to be routed; a POST
    routes one to a client, which opens its ticket by the alert rules."""

    allowed_roles = (UserRole.DISPATCHER, UserRole.ADMIN)
    template_name = "tickets/unrouted_alerts.html"

    def get(self, request):
        # Alerts of no known client are everyone's to route; a client's, theirs who see it.
        visible = request.user.visible_clients()
        waiting = (
            UnroutedAlert.objects.filter(routed_at__isnull=True)
            .filter(Q(scope_client__isnull=True) | visible.q("scope_client"))
            .select_related("scope_client", "sender")
        )
        page = page_of(waiting, request.GET.get("page"), QUEUE_PAGE_SIZE)
        clients = list(Client.objects.for_user(request.user).order_by("name"))
        return render(request, self.template_name, {"page": page, "clients": clients})

    def post(self, request):
        visible = request.user.visible_clients()
        unrouted = get_object_or_404(
            UnroutedAlert.objects.filter(Q(scope_client__isnull=True) | visible.q("scope_client")),
            pk=request.POST.get("alert"),
            routed_at__isnull=True,
        )
        client = alerts.unrouted_clients(unrouted=unrouted, user=request.user).filter(
            pk=request.POST.get("client") or None
        )
        try:
            if not client:
                raise ValidationError("Choose a client this alert may be routed to.")
            outcome = alerts.unrouted_alert_route(
                unrouted=unrouted, client=client[0], actor=request.user
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("tickets:unrouted-alerts")
        messages.success(request, f"Routed: ticket #{outcome.ticket_id} ({outcome.action}).")
        return redirect("tickets:unrouted-alerts")
