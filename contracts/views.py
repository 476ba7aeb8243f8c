"""Account managers' contract pages: the list, and a contract with its charges, block hours,
availability and compliance this month. Thin: figures come from selectors."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views import View
from django.views.generic import ListView, TemplateView

from contracts import selectors, services
from contracts.choices import ContractStatus, PricingModel
from contracts.models import Contract
from msp.choices import SERVICE_MANAGER_ROLES
from msp.mixins import RoleRequiredMixin, ScopedQuerysetMixin, StaffRequiredMixin
from tickets import selectors as ticket_selectors


class ContractListView(StaffRequiredMixin, ScopedQuerysetMixin, ListView):
    model = Contract
    template_name = "contracts/contract_list.html"
    context_object_name = "contracts"
    paginate_by = 50

    def get_queryset(self):
        contracts = super().get_queryset().select_related("client", "sla_policy")
        status = self.request.GET.get("status")
        if status in ContractStatus.values:
            contracts = contracts.filter(status=status)
        return contracts.order_by("client__name", "-start_date")

    def get_context_data(self, **kwargs):
        return super().get_context_data(statuses=ContractStatus.choices, **kwargs)


class ContractDetailView(StaffRequiredMixin, TemplateView):
    template_name = "contracts/contract_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        contract = (
            Contract.objects.for_user(self.request.user)
            .select_related("client", "sla_policy", "coverage_calendar")
            .prefetch_related("service_lines", "compliance_targets")
            .filter(pk=kwargs["pk"])
            .first()
        )
        if contract is None:
            raise Http404("No such contract.")
        today = timezone.localtime(timezone.now(), selectors.client_zone(contract)).date()
        first_day = today.replace(day=1)
        next_first_day = (first_day + timedelta(days=32)).replace(day=1)
        period = selectors.month_period(
            year=today.year, month=today.month, timezone_name=contract.client.timezone
        )
        usage = selectors.Usage(
            ticket_selectors.contract_usage(
                contract_id=contract.pk, first_day=first_day, next_first_day=next_first_day
            )
        )
        preview = selectors.contract_charges_preview(contract=contract, usage=usage)
        measured = selectors.contract_availability(
            contract=contract, year=today.year, month=today.month
        )
        context.update(
            contract=contract,
            month=today.strftime("%B %Y"),
            preview=preview,
            block_lines=[
                line
                for line in preview.lines
                if line.line.pricing_model == PricingModel.BLOCK_OF_HOURS
            ],
            availability=[(line, measured[line.service]) for line in contract.service_lines.all()],
            compliance=selectors.compliance_rows(
                contract=contract,
                measured=ticket_selectors.contract_compliance(
                    contract_id=contract.pk, period=period
                ),
            ),
            can_manage=self.request.user.role in SERVICE_MANAGER_ROLES,
            next_statuses=[ContractStatus(s) for s in services.next_statuses(contract)],
        )
        return context


class ContractStatusView(RoleRequiredMixin, View):
    allowed_roles = SERVICE_MANAGER_ROLES

    def post(self, request, pk: int):
        contract = get_object_or_404(Contract.objects.for_user(request.user), pk=pk)
        try:
            services.contract_change_status(
                contract=contract, status=request.POST.get("status", "")
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, f"Contract {contract.number} is now {request.POST['status']}."
            )
        return redirect("contracts:detail", pk=pk)
