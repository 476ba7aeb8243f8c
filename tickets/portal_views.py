"""Client portal: the client's own tickets. Client users only; every lookup goes through
`for_user`, so another client's ticket is a 404. Internal notes and their files never show."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from msp.mixins import ClientUserRequiredMixin
from msp.models import Contact
from msp.paginators import page_of
from sla.models import SLAClock
from tickets import forms, services
from tickets.attachments import attachment_response
from tickets.choices import OPEN_STATUSES, TicketSource
from tickets.models import Attachment, Comment, Ticket

PAGE_SIZE = 25


class PortalTicketListView(ClientUserRequiredMixin, View):
    def get(self, request):
        show = request.GET.get("show", "open")
        tickets = Ticket.objects.for_user(request.user).select_related("contact")
        if show == "open":
            tickets = tickets.filter(status__in=OPEN_STATUSES).order_by("sla_due_at", "-pk")
        else:
            tickets = tickets.exclude(status__in=OPEN_STATUSES).order_by("-pk")
        page = page_of(tickets, request.GET.get("page"), PAGE_SIZE)
        context = {"page": page, "show": show, "now": timezone.now()}
        return render(request, "portal/ticket_list.html", context)


class PortalTicketCreateView(ClientUserRequiredMixin, View):
    def get(self, request):
        form = forms.PortalTicketForm(client_id=request.user.client_id)
        return render(request, "portal/ticket_create.html", {"form": form})

    def post(self, request):
        form = forms.PortalTicketForm(request.POST, request.FILES, client_id=request.user.client_id)
        if form.is_valid():
            data = form.cleaned_data
            contact = Contact.objects.filter(user=request.user).first()
            try:
                with transaction.atomic():
                    ticket = services.ticket_open(
                        client=request.user.client,
                        contact=contact,
                        subject=data["subject"],
                        description=data["description"],
                        type=data["type"],
                        impact=data["impact"],
                        urgency=data["urgency"],
                        site=data["site"],
                        asset=data["asset"],
                        source=TicketSource.PORTAL,
                        created_by=request.user,
                    )
                    for upload in data["attachments"]:
                        services.attachment_add(ticket=ticket, upload=upload, user=request.user)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, f"Ticket {ticket.number} opened. We are on it.")
                return redirect("portal:ticket-detail", pk=ticket.pk)
        return render(request, "portal/ticket_create.html", {"form": form}, status=400)


def _client_ticket(request, pk: int) -> Ticket:
    public = Comment.objects.filter(is_public=True).select_related("author").order_by("created_at")
    files = Attachment.objects.exclude(comment__is_public=False).order_by("created_at")
    ticket = (
        Ticket.objects.for_user(request.user)
        .select_related("contact", "sla_policy")
        .prefetch_related(
            Prefetch("comments", queryset=public, to_attr="public_comments"),
            Prefetch("attachments", queryset=files, to_attr="public_files"),
            Prefetch("sla_clocks", queryset=SLAClock.objects.exclude(kind="next_update")),
        )
        .filter(pk=pk)
        .first()
    )
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


class PortalTicketDetailView(ClientUserRequiredMixin, View):
    def get(self, request, pk: int):
        return self._render(request, _client_ticket(request, pk), forms.CommentForm())

    def post(self, request, pk: int):
        ticket = _client_ticket(request, pk)
        form = forms.CommentForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.ticket_client_message(
                    ticket=ticket,
                    author=request.user,
                    body=form.cleaned_data["body"],
                    attachments=form.cleaned_data["attachments"],
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, "Your message is on the ticket.")
                return redirect("portal:ticket-detail", pk=pk)
        return self._render(request, ticket, form, status=400)

    def _render(self, request, ticket, form, status=200):
        context = {
            "ticket": ticket,
            "form": form,
            "clocks": sorted(
                ticket.sla_clocks.all(), key=lambda c: (c.kind != "response", c.cycle)
            ),
            "now": timezone.now(),
            "can_reply": ticket.status not in ("closed", "cancelled"),
        }
        return render(request, "portal/ticket_detail.html", context, status=status)


class PortalAttachmentView(ClientUserRequiredMixin, View):
    def get(self, request, pk: int, attachment_pk: int):
        attachment = get_object_or_404(
            Attachment.objects.for_user(request.user).exclude(comment__is_public=False),
            pk=attachment_pk,
            ticket_id=pk,
        )
        return attachment_response(attachment)
