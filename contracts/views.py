"""Account managers' contract pages: the list; a contract with its charges, block hours,
availability, compliance, ladder history and credits; the contract forms; the monthly
evaluation on demand, remediation plans and breach exemptions. Thin: figures come from
selectors, changes from services."""

from django.apps import apps
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View
from django.views.generic import ListView, TemplateView

from contracts import forms, selectors, services
from contracts.choices import ContractStatus, LadderStep, PricingModel
from contracts.models import (
    BreachExemption,
    ComplianceTarget,
    Contract,
    MaintenanceWindow,
    MonthlyEvaluation,
    Outage,
    ServiceLine,
)
from msp.choices import SERVICE_MANAGER_ROLES
from msp.mixins import RoleRequiredMixin, ScopedQuerysetMixin, StaffRequiredMixin
from msp.periods import Period
from sla.models import SLAClock


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
        return super().get_context_data(
            statuses=ContractStatus.choices,
            can_manage=self.request.user.role in SERVICE_MANAGER_ROLES,
            **kwargs,
        )


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
        month = Period.month(today.year, today.month)
        period = month.bounds(contract.client.timezone)
        billable_minutes = apps.get_app_config("contracts").billable_minutes
        usage = selectors.Usage(
            billable_minutes(
                contract_id=contract.pk, first_day=month.first_day, next_first_day=month.end_day
            )
            if billable_minutes
            else {}
        )
        preview = selectors.contract_charges_preview(contract=contract, usage=usage)
        measured = selectors.contract_availability(contract=contract, period=month)
        can_manage = self.request.user.role in SERVICE_MANAGER_ROLES
        context.update(
            contract=contract,
            month=month.label,
            preview=preview,
            block_lines=[
                line
                for line in preview.lines
                if line.line.pricing_model == PricingModel.BLOCK_OF_HOURS
            ],
            availability=[(line, measured[line.service]) for line in contract.service_lines.all()],
            compliance=selectors.contract_month_compliance(contract=contract, period=month),
            evaluations=selectors.contract_evaluations(contract=contract),
            exemptions=selectors.contract_exemptions(contract_id=contract.pk, period=period),
            windows=contract.maintenance_windows.select_related("asset"),
            outages=contract.outages.order_by("-start")[:20],
            can_manage=can_manage,
            next_statuses=[ContractStatus(s) for s in services.next_statuses(contract)],
            plan_steps=(LadderStep.REMEDIATION, LadderStep.CREDIT, LadderStep.TERMINATION),
            evaluate_form=forms.EvaluateMonthForm(),
            plan_form=forms.RemediationPlanForm(),
            revoke_form=forms.ExemptionRevokeForm(),
        )
        return context


class ContractManagerMixin(RoleRequiredMixin):
    allowed_roles = SERVICE_MANAGER_ROLES

    def contract(self, pk: int) -> Contract:
        return get_object_or_404(
            Contract.objects.for_user(self.request.user).select_related("client"), pk=pk
        )


def _errors_to_form(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


class ContractEditView(ContractManagerMixin, View):
    """Create (no pk) or edit a contract's terms."""

    template_name = "contracts/contract_form.html"

    def get(self, request, pk: int | None = None):
        contract = self.contract(pk) if pk else None
        return self._render(forms.ContractForm(instance=contract, user=request.user), contract)

    def post(self, request, pk: int | None = None):
        contract = self.contract(pk) if pk else None
        form = forms.ContractForm(request.POST, instance=contract, user=request.user)
        if form.is_valid():
            fields = {name: form.cleaned_data[name] for name in form.fields}
            try:
                if contract is None:
                    contract = services.contract_create(**fields)
                else:
                    contract = services.contract_update(contract=contract, **fields)
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, f"Contract {contract.number} saved.")
                return redirect("contracts:detail", pk=contract.pk)
        return self._render(form, contract, status=400)

    def _render(self, form, contract, status: int = 200):
        context = {"form": form, "contract": contract}
        return render(self.request, self.template_name, context, status=status)


# The parts of a contract edited on their own pages: model, form, and a name for people.
PARTS = {
    "lines": (ServiceLine, forms.ServiceLineForm, "service line"),
    "targets": (ComplianceTarget, forms.ComplianceTargetForm, "compliance target"),
    "windows": (MaintenanceWindow, forms.MaintenanceWindowForm, "maintenance window"),
    "outages": (Outage, forms.OutageForm, "outage"),
}


class ContractPartEditView(ContractManagerMixin, View):
    """Add (no part_pk) or edit a line, target, window or outage. Times are entered and shown
    in the client's time zone."""

    template_name = "contracts/part_form.html"

    def dispatch(self, request, *args, **kwargs):
        if kwargs["part"] not in PARTS:
            raise Http404("No such part of a contract.")
        return super().dispatch(request, *args, **kwargs)

    def _setup(self, pk: int, part: str, part_pk: int | None):
        contract = self.contract(pk)
        model, form_class, label = PARTS[part]
        instance = (
            get_object_or_404(model, pk=part_pk, contract=contract)
            if part_pk
            else model(contract=contract)
        )
        return contract, instance, form_class, label

    def _form(self, form_class, contract, data=None, instance=None):
        if form_class in (forms.MaintenanceWindowForm, forms.OutageForm):
            return form_class(data, instance=instance, client_id=contract.client_id)
        return form_class(data, instance=instance)

    def get(self, request, pk: int, part: str, part_pk: int | None = None):
        contract, instance, form_class, label = self._setup(pk, part, part_pk)
        with timezone.override(contract.client.timezone):
            form = self._form(form_class, contract, instance=instance)
            return self._render(form, contract, instance, label)

    def post(self, request, pk: int, part: str, part_pk: int | None = None):
        contract, instance, form_class, label = self._setup(pk, part, part_pk)
        with timezone.override(contract.client.timezone):
            form = self._form(form_class, contract, request.POST, instance)
            if form.is_valid():
                try:
                    services.contract_part_save(part=form.save(commit=False))
                except ValidationError as exc:
                    _errors_to_form(form, exc)
                else:
                    messages.success(request, f"The {label} is saved.")
                    return redirect("contracts:detail", pk=contract.pk)
            return self._render(form, contract, instance, label, status=400)

    def _render(self, form, contract, instance, label, status: int = 200):
        context = {"form": form, "contract": contract, "instance": instance, "label": label}
        return render(self.request, self.template_name, context, status=status)


class ContractPartDeleteView(ContractManagerMixin, View):
    def post(self, request, pk: int, part: str, part_pk: int):
        if part not in PARTS:
            raise Http404("No such part of a contract.")
        model, _, label = PARTS[part]
        instance = get_object_or_404(model, pk=part_pk, contract=self.contract(pk))
        services.contract_part_delete(part=instance)
        messages.success(request, f"The {label} is removed.")
        return redirect("contracts:detail", pk=pk)


class ContractEvaluateView(ContractManagerMixin, View):
    """Evaluate a finished month on demand (again, if it was evaluated already)."""

    def post(self, request, pk: int):
        contract = self.contract(pk)
        form = forms.EvaluateMonthForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose a month to evaluate.")
            return redirect("contracts:detail", pk=pk)
        try:
            evaluation = services.contract_month_evaluate(
                contract=contract, month=form.cleaned_data["month"], now=timezone.now()
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                f"{evaluation.month:%B %Y} evaluated: {evaluation.get_ladder_step_display()}.",
            )
        return redirect("contracts:detail", pk=pk)


class RemediationPlanAddView(ContractManagerMixin, View):
    def post(self, request, pk: int, evaluation_pk: int):
        evaluation = get_object_or_404(
            MonthlyEvaluation, pk=evaluation_pk, contract=self.contract(pk)
        )
        form = forms.RemediationPlanForm(request.POST)
        if form.is_valid():
            services.remediation_plan_add(
                evaluation=evaluation, author=request.user, **form.cleaned_data
            )
            messages.success(request, f"Remediation plan for {evaluation.month:%B %Y} added.")
        else:
            messages.error(request, "A plan needs what went wrong, the actions and a due date.")
        return redirect("contracts:detail", pk=pk)


class BreachExemptView(ContractManagerMixin, View):
    """Exempt a breached clock, from the ticket page; back to the ticket."""

    def post(self, request, clock_pk: int):
        # The user's tickets through the clock's own foreign key: contracts does not import
        # tickets, the layer above.
        tickets = SLAClock.ticket.field.related_model.objects.for_user(request.user)
        clock = get_object_or_404(SLAClock.objects.filter(ticket__in=tickets), pk=clock_pk)
        try:
            services.breach_exemption_grant(
                clock=clock,
                user=request.user,
                cause=request.POST.get("cause", ""),
                reason=request.POST.get("reason", ""),
                at=timezone.now(),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "The breach is exempted from compliance and credits.")
        return redirect("tickets:detail", pk=clock.ticket_id)


class ExemptionRevokeView(ContractManagerMixin, View):
    def post(self, request, pk: int, exemption_pk: int):
        exemption = get_object_or_404(
            BreachExemption, pk=exemption_pk, clock__ticket__contract=self.contract(pk)
        )
        try:
            services.breach_exemption_revoke(
                exemption=exemption,
                user=request.user,
                reason=request.POST.get("reason", ""),
                at=timezone.now(),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "The exemption is revoked; the breach counts again.")
        return redirect("contracts:detail", pk=pk)


class ContractStatusView(ContractManagerMixin, View):
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
