from datetime import datetime, time

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import ListView, TemplateView

from msp.choices import SERVICE_MANAGER_ROLES
from msp.mixins import RoleRequiredMixin, StaffRequiredMixin
from sla import selectors, services
from sla.calendar import NoWorkingTimeError
from sla.choices import Priority
from sla.forms import (
    BusinessCalendarForm,
    EscalationRuleFormSet,
    HolidayForm,
    HolidayImportForm,
    SLAPolicyForm,
    SLATargetFormSet,
    WorkingIntervalFormSet,
)
from sla.models import BusinessCalendar, Holiday, SLAPolicy, WorkingInterval


class SLAManagerMixin(RoleRequiredMixin):
    allowed_roles = SERVICE_MANAGER_ROLES


class CalendarListView(StaffRequiredMixin, ListView):
    template_name = "sla/calendar_list.html"
    context_object_name = "calendars"

    def get_queryset(self):
        return selectors.calendar_list()


class CalendarDetailView(StaffRequiredMixin, TemplateView):
    """A calendar's week and holidays, and a due-instant calculator (read only)."""

    template_name = "sla/calendar_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            calendar = selectors.calendar_detail(pk=kwargs["pk"])
        except BusinessCalendar.DoesNotExist:
            raise Http404("No such calendar.") from None
        context.update(
            calendar=calendar,
            can_edit=self.request.user.role in SERVICE_MANAGER_ROLES,
            holiday_form=HolidayForm(),
            import_form=HolidayImportForm(calendar=calendar),
            calculation=self._calculate(calendar),
        )
        return context

    def _calculate(self, calendar: BusinessCalendar) -> dict | None:
        start_text, minutes_text = self.request.GET.get("start"), self.request.GET.get("minutes")
        if not start_text or not minutes_text:
            return None
        engine = selectors.calendar_engine(calendar)
        try:
            start = datetime.fromisoformat(start_text).replace(tzinfo=engine.tz)
            minutes = int(minutes_text)
            if minutes < 0:
                raise ValueError
        except ValueError:
            return {"error": "Give a start date and time, and a whole number of minutes >= 0."}
        try:
            due = engine.add(start, minutes)
        except NoWorkingTimeError as exc:
            return {"error": str(exc)}
        return {"start": start, "minutes": minutes, "due": due.astimezone(engine.tz)}


class CalendarEditView(SLAManagerMixin, TemplateView):
    """Create (no pk) or edit a calendar and its weekly intervals, as one change."""

    template_name = "sla/calendar_form.html"

    def get_object(self) -> BusinessCalendar | None:
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(BusinessCalendar, pk=self.kwargs["pk"])

    def get(self, request, *args, **kwargs):
        calendar = self.get_object()
        form = BusinessCalendarForm(instance=calendar)
        if calendar is None:
            # A new calendar starts as a plain office week, the most common shape.
            office_week = [
                {"weekday": weekday, "start_time": time(9), "end_time": time(17)}
                for weekday in range(5)
            ]
            formset = WorkingIntervalFormSet(instance=BusinessCalendar(), initial=office_week)
            formset.extra = len(office_week) + 2
        else:
            formset = WorkingIntervalFormSet(instance=calendar)
        return self.render_to_response({"form": form, "formset": formset, "calendar": calendar})

    def post(self, request, *args, **kwargs):
        calendar = self.get_object()
        form = BusinessCalendarForm(request.POST, instance=calendar)
        formset = WorkingIntervalFormSet(request.POST, instance=calendar or BusinessCalendar())
        if form.is_valid() and formset.is_valid():
            fields = {name: form.cleaned_data[name] for name in services.CALENDAR_FIELDS}
            intervals = _formset_intervals(formset)
            try:
                with transaction.atomic():
                    if calendar is None:
                        fields["timezone_name"] = fields.pop("timezone")
                        calendar = services.calendar_create(intervals=intervals, **fields)
                    else:
                        services.calendar_update(calendar=calendar, intervals=intervals, **fields)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"Calendar {calendar.name} saved.")
                return redirect("sla:calendar-detail", pk=calendar.pk)
        return self.render_to_response({"form": form, "formset": formset, "calendar": calendar})


def _formset_intervals(formset) -> list[tuple[int, int, int]]:
    intervals = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE") or data.get("start_time") is None:
            continue
        row = WorkingInterval(
            weekday=data["weekday"], start_time=data["start_time"], end_time=data["end_time"]
        )
        intervals.append((row.weekday, row.start_minute, row.end_minute))
    return intervals


class HolidayAddView(SLAManagerMixin, View):
    def post(self, request, pk: int):
        calendar = get_object_or_404(BusinessCalendar, pk=pk)
        form = HolidayForm(request.POST)
        if form.is_valid():
            services.holiday_add(
                calendar=calendar, day=form.cleaned_data["date"], name=form.cleaned_data["name"]
            )
            messages.success(request, "Holiday added.")
        else:
            messages.error(request, _form_errors_text(form))
        return redirect("sla:calendar-detail", pk=pk)


class HolidayImportView(SLAManagerMixin, View):
    def post(self, request, pk: int):
        calendar = get_object_or_404(BusinessCalendar, pk=pk)
        form = HolidayImportForm(request.POST, calendar=calendar)
        if form.is_valid():
            try:
                created = services.calendar_holidays_import(
                    calendar=calendar,
                    first_year=form.cleaned_data["first_year"],
                    last_year=form.cleaned_data["last_year"],
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, f"{created} holidays imported.")
        else:
            messages.error(request, _form_errors_text(form))
        return redirect("sla:calendar-detail", pk=pk)


class HolidayDeleteView(SLAManagerMixin, View):
    def post(self, request, pk: int, holiday_pk: int):
        holiday = get_object_or_404(Holiday, pk=holiday_pk, calendar_id=pk)
        services.holiday_delete(holiday=holiday)
        messages.success(request, f"Holiday {holiday} removed.")
        return HttpResponseRedirect(reverse("sla:calendar-detail", args=[pk]) + "#holidays")


def _form_errors_text(form) -> str:
    return " ".join(
        f"{form.fields[field].label if field in form.fields else ''}: {' '.join(errors)}".lstrip(
            ": "
        )
        for field, errors in form.errors.items()
    )


class PolicyListView(StaffRequiredMixin, ListView):
    template_name = "sla/policy_list.html"
    context_object_name = "policies"

    def get_queryset(self):
        return selectors.policy_list()


class PolicyEditView(SLAManagerMixin, TemplateView):
    """Create (no pk) or edit a policy with its four priority targets."""

    template_name = "sla/policy_form.html"

    def get_object(self) -> SLAPolicy | None:
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(SLAPolicy, pk=self.kwargs["pk"])

    def get(self, request, *args, **kwargs):
        policy = self.get_object()
        form = SLAPolicyForm(instance=policy)
        initial = None if policy else [{"priority": priority} for priority in Priority.values]
        formset = SLATargetFormSet(instance=policy or SLAPolicy(), initial=initial)
        return self.render_to_response({"form": form, "formset": formset, "policy": policy})

    def post(self, request, *args, **kwargs):
        policy = self.get_object()
        form = SLAPolicyForm(request.POST, instance=policy)
        formset = SLATargetFormSet(request.POST, instance=policy or SLAPolicy())
        if form.is_valid() and formset.is_valid():
            targets = {
                row.cleaned_data["priority"]: row.cleaned_data
                for row in formset.forms
                if row.cleaned_data
            }
            fields = {name: form.cleaned_data[name] for name in services.POLICY_FIELDS}
            try:
                policy = services.policy_save(policy=policy, targets=targets, **fields)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"Policy {policy.name} saved.")
                return redirect("sla:policy-list")
        return self.render_to_response({"form": form, "formset": formset, "policy": policy})


class EscalationRulesView(SLAManagerMixin, TemplateView):
    """A policy's escalation ladder: what happens at each warning, breach or silence."""

    template_name = "sla/escalation_rules.html"

    def get(self, request, pk: int):
        policy = get_object_or_404(SLAPolicy, pk=pk)
        formset = EscalationRuleFormSet(instance=policy)
        return self.render_to_response({"policy": policy, "formset": formset})

    def post(self, request, pk: int):
        policy = get_object_or_404(SLAPolicy, pk=pk)
        formset = EscalationRuleFormSet(request.POST, instance=policy)
        if formset.is_valid():
            rows = [
                {
                    **form.cleaned_data,
                    "id": form.instance.pk,
                    "delete": form.cleaned_data.get("DELETE"),
                }
                for form in formset.forms
                if form.has_changed() or form.instance.pk
            ]
            try:
                services.escalation_rules_save(policy=policy, rows=rows)
            except ValidationError as exc:
                formset._non_form_errors = formset.error_class(exc.messages)
            else:
                messages.success(request, f"Escalation rules of {policy.name} saved.")
                return redirect("sla:escalation-rules", pk=pk)
        return self.render_to_response({"policy": policy, "formset": formset})
