"""A client's page in the workspace: its directory (sites, contacts, assets, teams) with its
open tickets, contracts, SLA this month and reports. It lives here, at the top layer, because
it reads every app's selectors; this month's figures are the account overview's
(reporting.selectors.accounts_overview), with the report's definitions."""

from zoneinfo import ZoneInfo

from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from contracts.models import Contract
from msp import selectors as directory
from msp.choices import PeriodKind, UserRole
from msp.directory_views import DIRECTORY_EDITORS
from msp.forms import ClientTeamsForm
from msp.mixins import StaffRequiredMixin
from msp.models import Client
from msp.periods import Period
from reporting import selectors
from reporting.models import Report
from tickets.models import Ticket
from tickets.selectors import Queue

OPEN_TICKETS_SHOWN = 10
REPORTS_SHOWN = 6


class ClientOverviewView(StaffRequiredMixin, View):
    def get(self, request, slug: str):
        user = request.user
        client = get_object_or_404(
            Client.objects.for_user(user).select_related("account_manager"), slug=slug
        )
        today = timezone.localtime(timezone.now(), ZoneInfo(client.timezone)).date()
        month = Period.containing(PeriodKind.MONTH, today)
        [account] = selectors.accounts_overview(
            clients=Client.objects.filter(pk=client.pk), period=month
        )
        open_tickets = (
            Ticket.objects.for_user(user).open().filter(client=client).with_list_related()
        )
        teams = directory.client_teams(client=client)
        context = {
            "client": client,
            "account": account,
            "month": month.label,
            "open_tickets": open_tickets.order_by("sla_due_at", "pk")[:OPEN_TICKETS_SHOWN],
            "open_ticket_count": open_tickets.count(),
            "queue_url": reverse("tickets:queue") + f"?queue={Queue.ALL_OPEN}&client={client.pk}",
            "contracts": Contract.objects.for_user(user)
            .filter(client=client)
            .order_by("-start_date", "-pk"),
            "reports": Report.objects.for_user(user)
            .filter(client=client)
            .defer("figures")
            .order_by("-period_start", "-version")[:REPORTS_SHOWN],
            "now": timezone.now(),
            "can_edit": user.role in DIRECTORY_EDITORS,
            "teams": teams,
            "can_assign_teams": user.role == UserRole.ADMIN,
            "sites": directory.client_sites(client=client, user=user),
            "contacts": directory.client_contacts(client=client, user=user),
            "assets": directory.client_assets(client=client, user=user),
        }
        if context["can_assign_teams"]:
            chosen = [team.pk for team in teams if not team.serves_all_clients]
            context["teams_form"] = ClientTeamsForm(initial={"teams": chosen})
        return render(request, "msp/client_detail.html", context)
