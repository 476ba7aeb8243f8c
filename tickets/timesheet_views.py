"""The technician's weekly timesheet, the managers' approval page, and the ticket timer.

Thin: each POST validates a form and calls one service of tickets.services.timekeeping;
GET never changes anything. A technician sees only their own timesheet; managers (the
approvers: administrators and account managers) may read another person's, limited to the
clients they see, and approve the submitted time of those clients.
"""

from collections import OrderedDict
from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from msp.choices import SERVICE_MANAGER_ROLES, UserRole
from msp.mixins import RoleRequiredMixin, StaffRequiredMixin
from msp.models import User
from tickets import selectors
from tickets.choices import TimeEntryState
from tickets.forms import TimeEntryForm
from tickets.models import RunningTimer, Ticket, TimeEntry
from tickets.services import timekeeping
from tickets.services.timekeeping import week_of
from tickets.timesheet_forms import RejectForm, TimesheetEntryForm


def _week(request) -> date:
    """The Monday of the week asked for (?week=YYYY-MM-DD, any day of it), else this week."""
    raw = request.GET.get("week") or request.POST.get("week") or ""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = timezone.localdate()
    return week_of(day)


def _errors_of(error: ValidationError) -> str:
    return " ".join(error.messages)


def _add_errors(form, error: ValidationError) -> None:
    names = {"started_at": "start", "ended_at": "end"}
    if hasattr(error, "error_dict"):
        for field, texts in error.message_dict.items():
            field = names.get(field, field)
            form.add_error(field if field in form.fields else None, texts)
    else:
        form.add_error(None, error.messages)


def _timesheet_url(week: date, **extra) -> str:
    query = "&".join(f"{key}={value}" for key, value in {"week": week, **extra}.items())
    return f"{reverse('workspace:timesheet')}?{query}"


class TimesheetView(StaffRequiredMixin, View):
    """A person's week, Monday to Sunday: each day's entries and total, the week's total, the
    running timer, a form to add time, inline edits of drafts and rejected entries, and the
    button that submits the week's drafts."""

    template_name = "tickets/timesheet.html"

    def get(self, request):
        return self.page(request)

    def page(self, request, *, status=200, add_form=None, edit_form=None, edit_pk=None):
        week = _week(request)
        person = self._person(request)
        own = person.pk == request.user.pk
        entries = selectors.timesheet_entries(user=person, week_start=week)
        if not own:  # a manager reads the time of the clients they see
            entries = entries.filter(request.user.visible_clients().q("client"))
        entries = list(entries)
        if edit_pk is None and own:
            edit_pk = _int(request.GET.get("edit"))
        days = OrderedDict((week + timedelta(days=n), []) for n in range(7))
        for entry in entries:
            days[entry.spent_on].append(entry)
            if entry.pk == edit_pk and entry.is_editable and edit_form is None:
                edit_form = _edit_form(entry)
        context = {
            "person": person,
            "own": own,
            "week": week,
            "previous_week": week - timedelta(days=7),
            "next_week": week + timedelta(days=7),
            "this_week": week_of(timezone.localdate()),
            "days": [
                {"day": day, "entries": rows, "minutes": sum(e.minutes for e in rows)}
                for day, rows in days.items()
            ],
            "week_minutes": sum(entry.minutes for entry in entries),
            "drafts": sum(entry.state == TimeEntryState.DRAFT for entry in entries),
            "edit_pk": edit_pk if edit_form is not None else None,
            "edit_form": edit_form,
            "add_form": add_form
            or TimesheetEntryForm(initial={"spent_on": _default_day(week), "billable": True}),
            "timer": (
                RunningTimer.objects.select_related("ticket").filter(user=person).first()
                if own
                else None
            ),
            "now": timezone.now(),
        }
        return render(request, self.template_name, context, status=status)

    def _person(self, request) -> User:
        wanted = _int(request.GET.get("user"))
        if wanted is None or wanted == request.user.pk:
            return request.user
        if request.user.role not in SERVICE_MANAGER_ROLES:
            raise PermissionDenied("Only managers read another person's timesheet.")
        return get_object_or_404(User.objects.exclude(role=UserRole.CLIENT), pk=wanted)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _default_day(week: date) -> date:
    today = timezone.localdate()
    return today if week <= today < week + timedelta(days=7) else week


def _edit_form(entry: TimeEntry, data=None) -> TimeEntryForm:
    local = timezone.localtime
    initial = {
        "spent_on": entry.spent_on,
        "minutes": None if entry.started_at else entry.minutes,
        "start": local(entry.started_at).time().replace(second=0) if entry.started_at else None,
        "end": local(entry.ended_at).time().replace(second=0) if entry.ended_at else None,
        "work_type": entry.work_type,
        "billable": entry.billable,
        "note": entry.note,
    }
    return TimeEntryForm(data, initial=initial, auto_id=f"edit{entry.pk}_%s")


class TimesheetEntryAddView(TimesheetView):
    def post(self, request):
        form = TimesheetEntryForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            ticket = Ticket.objects.for_user(request.user).filter(pk=data.pop("ticket")).first()
            if ticket is None:
                form.add_error("ticket", "There is no such ticket among those you see.")
            else:
                try:
                    entry = timekeeping.time_entry_log(ticket=ticket, user=request.user, **data)
                except ValidationError as error:
                    _add_errors(form, error)
                else:
                    messages.success(request, f"{entry.minutes} min logged on {ticket.number}.")
                    return redirect(_timesheet_url(week_of(entry.spent_on)))
        return self.page(request, status=400, add_form=form)


def _own_entry(request, pk: int) -> TimeEntry:
    """One of the signed-in person's entries; anyone else's is as if it did not exist."""
    return get_object_or_404(TimeEntry.objects.select_related("ticket"), pk=pk, user=request.user)


class TimesheetEntryEditView(TimesheetView):
    def get(self, request, pk: int):
        entry = _own_entry(request, pk)
        return redirect(_timesheet_url(week_of(entry.spent_on), edit=entry.pk) + f"#entry-{pk}")

    def post(self, request, pk: int):
        entry = _own_entry(request, pk)
        form = _edit_form(entry, request.POST)
        if form.is_valid():
            try:
                entry = timekeeping.time_entry_update(
                    entry=entry, user=request.user, **form.cleaned_data
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, "Entry saved as a draft.")
                return redirect(_timesheet_url(week_of(entry.spent_on)))
        request.GET = request.GET.copy()
        request.GET["week"] = week_of(entry.spent_on).isoformat()
        return self.page(request, status=400, edit_form=form, edit_pk=entry.pk)


class TimesheetEntryDeleteView(StaffRequiredMixin, View):
    def post(self, request, pk: int):
        entry = _own_entry(request, pk)
        try:
            timekeeping.time_entry_delete(entry=entry, user=request.user)
        except ValidationError as error:
            messages.error(request, _errors_of(error))
        else:
            messages.success(request, "Entry deleted.")
        return redirect(_timesheet_url(week_of(entry.spent_on)))


class TimesheetEntryRecallView(StaffRequiredMixin, View):
    def post(self, request, pk: int):
        entry = _own_entry(request, pk)
        try:
            timekeeping.time_entry_recall(entry=entry, user=request.user)
        except ValidationError as error:
            messages.error(request, _errors_of(error))
        else:
            messages.success(request, "Entry recalled: it is a draft again.")
        return redirect(_timesheet_url(week_of(entry.spent_on)))


class TimesheetSubmitView(StaffRequiredMixin, View):
    def post(self, request):
        week = _week(request)
        count = timekeeping.time_entries_submit(user=request.user, week_start=week)
        if count:
            messages.success(request, f"Week submitted: {count} entries wait for approval.")
        else:
            messages.info(request, "No drafts to submit this week.")
        return redirect(_timesheet_url(week))


# Approval --------------------------------------------------------------------------------------


class TimeApprovalView(RoleRequiredMixin, View):
    """Submitted time of the clients the manager sees, by technician and week: approve the
    ticked entries, all of a person's week, or reject one with a reason."""

    allowed_roles = SERVICE_MANAGER_ROLES
    template_name = "tickets/time_approval.html"

    def get(self, request):
        return self.page(request)

    def page(self, request, *, status=200, reject_form=None, reject_pk=None):
        groups = OrderedDict()
        for entry in selectors.time_entries_awaiting_approval(user=request.user):
            key = (entry.user_id, week_of(entry.spent_on))
            group = groups.setdefault(
                key, {"person": entry.user, "week": key[1], "entries": [], "minutes": 0}
            )
            group["entries"].append(entry)
            group["minutes"] += entry.minutes
        context = {
            "groups": list(groups.values()),
            "reject_form": reject_form,
            "reject_pk": reject_pk,
        }
        return render(request, self.template_name, context, status=status)

    def post(self, request):
        awaiting = selectors.time_entries_awaiting_approval(user=request.user)
        if request.POST.get("person") and request.POST.get("week"):
            week = _week(request)
            chosen = awaiting.filter(
                user_id=_int(request.POST["person"]),
                spent_on__gte=week,
                spent_on__lt=week + timedelta(days=7),
            )
        else:
            ids = [pk for pk in map(_int, request.POST.getlist("entry")) if pk is not None]
            chosen = awaiting.filter(pk__in=ids)
        ids = list(chosen.values_list("pk", flat=True))
        try:
            approved = timekeeping.time_entries_approve(entries=ids, by=request.user)
        except ValidationError as error:
            messages.error(request, _errors_of(error))
            return self.page(request, status=400)
        except PermissionDenied as error:
            messages.error(request, str(error))
            return self.page(request, status=403)
        minutes = sum(entry.minutes for entry in approved)
        messages.success(request, f"Approved {len(approved)} entries ({_hours(minutes)}).")
        return redirect("workspace:time-approval")


class TimeRejectView(TimeApprovalView):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        entry = get_object_or_404(
            selectors.time_entries_awaiting_approval(user=request.user), pk=pk
        )
        form = RejectForm(request.POST, auto_id=f"reject{pk}_%s")
        if form.is_valid():
            try:
                timekeeping.time_entry_reject(
                    entry=entry, by=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                messages.success(request, f"Rejected; {entry.user.full_name} sees why.")
                return redirect("workspace:time-approval")
        return self.page(request, status=400, reject_form=form, reject_pk=pk)


def _hours(minutes: int) -> str:
    return f"{minutes // 60} h {minutes % 60:02d} min"


# The timer -------------------------------------------------------------------------------------


def _back(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


class TimerView(StaffRequiredMixin, View):
    """The ticket page's timer (loaded by htmx after the page): the person's running timer,
    on this ticket or another, with start and stop."""

    def get(self, request, pk: int):
        ticket = get_object_or_404(Ticket.objects.for_user(request.user), pk=pk)
        timer = RunningTimer.objects.select_related("ticket").filter(user=request.user).first()
        return render(
            request,
            "tickets/_timer_widget.html",
            {"ticket": ticket, "timer": timer, "now": timezone.now()},
        )


class TimerStartView(StaffRequiredMixin, View):
    def post(self, request, pk: int):
        ticket = get_object_or_404(Ticket.objects.for_user(request.user), pk=pk)
        try:
            _timer, logged = timekeeping.timer_start(ticket=ticket, user=request.user)
        except ValidationError as error:
            messages.error(request, _errors_of(error))
        else:
            said = f"Timer started on {ticket.number}."
            if logged is not None:
                said += f" The timer on #{logged.ticket_id} stopped: {logged.minutes} min logged."
            messages.success(request, said)
        return redirect(_back(request, reverse("tickets:detail", args=[pk])))


class TimerStopView(StaffRequiredMixin, View):
    def post(self, request):
        try:
            entry = timekeeping.timer_stop(user=request.user)
        except ValidationError as error:
            messages.error(request, _errors_of(error))
            return redirect(_back(request, reverse("workspace:timesheet")))
        messages.success(
            request,
            f"Timer stopped: {entry.minutes} min logged on #{entry.ticket_id} as a draft.",
        )
        return redirect(_back(request, _timesheet_url(week_of(entry.spent_on))))


class TimerDiscardView(StaffRequiredMixin, View):
    def post(self, request):
        try:
            timekeeping.timer_discard(user=request.user)
        except ValidationError as error:
            messages.error(request, _errors_of(error))
        else:
            messages.success(request, "Timer discarded; nothing logged.")
        return redirect(_back(request, reverse("workspace:timesheet")))
