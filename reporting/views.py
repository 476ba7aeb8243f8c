"""Reports in the workspace (generate, preview, annotate, send) and the portal (read,
download), the client's live SLA dashboard, and the staff SLA risk page. Every report is
looked up through Report.objects.for_user: another client's report is a 404."""

import functools
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import date as date_format
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views import View

from msp import live
from msp.choices import SERVICE_MANAGER_ROLES, PeriodKind
from msp.mixins import (
    ClientUserRequiredMixin,
    ReplicaReadsMixin,
    RoleRequiredMixin,
    StaffRequiredMixin,
)
from msp.models import Client
from msp.periods import Period
from reporting import selectors
from reporting.downloads import report_file_response
from reporting.figures import period_figures
from reporting.forms import ReportAnnotateForm, ReportGenerateForm, ReportSendForm
from reporting.models import Report
from reporting.presentation import ReportContent, figure_label
from reporting.rendering import report_title
from reporting.services import (
    report_annotate,
    report_generate,
    report_send,
)
from reporting.templatetags.report_tags import duration, percent, rating
from tickets.choices import OPEN_STATUSES
from tickets.models import Ticket

REPORTS_LISTED = 100
SLA_RISK_POLL_SECONDS = 15  # the SLA risk list's poll (setting SLA_RISK_POLL_SECONDS)
SLA_RISK_FINGERPRINT_SECONDS = 5  # its fingerprint's life in the cache (a setting too)


class _ReversedOnce:
    """A route reversed once for a page of many rows, then filled in per row: reverse() per
    row costs milliseconds per hundred rows, and the staff overviews list every client."""

    def __init__(self, name: str, sample: str | int):
        self.head, self.tail = reverse(name, args=[sample]).rsplit(str(sample), 1)

    def __call__(self, value) -> str:
        return f"{self.head}{value}{self.tail}"


def _visible_report(request, pk: int) -> Report:
    return get_object_or_404(Report.objects.for_user(request.user).select_related("client"), pk=pk)


class ClientSlaDashboardView(ClientUserRequiredMixin, ReplicaReadsMixin, View):
    """This month so far, built by the same code and template as the monthly report, plus
    the open tickets' countdowns."""

    def get(self, request):
        client = request.user.client
        now = timezone.now()
        today = timezone.localtime(now, ZoneInfo(client.timezone)).date()
        period = Period.containing(PeriodKind.MONTH, today)
        figures = period_figures(client=client, period=period, now=now, store=False)
        open_tickets = (
            Ticket.objects.for_user(request.user)
            .filter(status__in=OPEN_STATUSES)
            .order_by("sla_due_at", "pk")[:25]
        )
        context = {
            "month": period.label,
            "content": ReportContent(figures),
            "open_tickets": open_tickets,
            "now": now,
            "ticket_url": "portal",
        }
        return render(request, "portal/sla_dashboard.html", context)


class StaffSlaRiskView(StaffRequiredMixin, ReplicaReadsMixin, View):
    """Team leads' and dispatchers' view: what is overdue and what breaches soon, what
    breached today, and compliance by client this month, worst first. ?mine=1: my clients
    only. The list polls itself (htmx, every SLA_RISK_POLL_SECONDS) and is answered 304 Not
    Modified while nothing it shows changed (reporting.selectors.sla_risk_fingerprint)."""

    def get(self, request):
        now = timezone.now()
        local = timezone.localtime(now)  # the viewer's zone: "today" is the viewer's day
        mine = request.GET.get("mine") == "1"
        clients = selectors.clients_of(request.user, mine)
        day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        etag = live.fingerprint(
            *_sla_risk_fingerprint(request.user, mine, now, day_start),
            timezone.get_current_timezone_name(),
            mine,
            bool(request.htmx),  # the page and its list share the URL, not the ETag
        )
        if request.htmx and live.etag_matches(request, etag):
            return live.not_modified(etag)
        month = Period.containing(PeriodKind.MONTH, local.date())
        risk = selectors.sla_risk(clients=clients, now=now, day_start=day_start, month=month)
        context = {
            "compliance_rows": _compliance_rows(risk["compliance"]),
            **risk,
            "now": now,
            "mine": mine,
            "month": month.label,
            "etag": etag,
            "poll_seconds": getattr(settings, "SLA_RISK_POLL_SECONDS", SLA_RISK_POLL_SECONDS),
        }
        template = "reporting/_sla_risk_list.html" if request.htmx else "reporting/sla_risk.html"
        response = live.with_etag(render(request, template, context), etag)
        patch_vary_headers(response, ["HX-Request"])
        return response


def _compliance_rows(compliance: list[dict]):
    """The compliance table's rows, one per client: built here rather than by the template,
    whose per-cell rendering (each number localized) was most of the page's time."""
    client_url = _ReversedOnce("workspace:client-detail", "client-slug")
    # Counts and shares repeat from row to row: each distinct value is formatted once.
    number, share = functools.cache(localize), functools.cache(percent)
    return format_html_join(
        "",
        '\n        <tr><td><a href="{}">{}</a></td><td class="text-end">{}</td>'
        '<td class="text-end">{}</td><td class="text-end">{}</td></tr>\n      ',
        (
            (
                client_url(row["slug"]),
                row["client"],
                number(row["met"]),
                number(row["breached"]),
                share(row["share"]),
            )
            for row in compliance
        ),
    )


def _sla_risk_fingerprint(user, mine: bool, now, day_start) -> tuple:
    """The fingerprint of the user's scope, kept SLA_RISK_FINGERPRINT_SECONDS in the cache:
    its aggregate reads every open ticket of the scope (120-160 ms at 20,000 open tickets,
    bench/sla_risk_poll.py), so tabs polling the same scope share one reading, and a change
    shows at most that much later."""
    seconds = getattr(settings, "SLA_RISK_FINGERPRINT_SECONDS", SLA_RISK_FINGERPRINT_SECONDS)
    visible = user.visible_clients()
    scope = "every" if visible.every else ",".join(map(str, sorted(visible.ids)))
    key = "sla-risk:fingerprint:" + live.fingerprint(scope, f"am{user.pk}" if mine else "")
    if seconds > 0:
        found = cache.get(key)
        if found is not None:
            return (*found, day_start)
    tickets = Ticket.objects.for_user(user)
    if mine:
        tickets = tickets.filter(client__account_manager=user)
    found = selectors.sla_risk_fingerprint(tickets=tickets, now=now, day_start=day_start)[:-1]
    if seconds > 0:
        cache.set(key, found, timeout=seconds)
    return (*found, day_start)


class AccountsView(StaffRequiredMixin, ReplicaReadsMixin, View):
    """An account manager's clients: this month so far with the report's figures, the
    contract, the governance ladder and the latest reports. ?all=1: every client."""

    def get(self, request):
        show_all = request.GET.get("all") == "1"
        period = Period.containing(PeriodKind.MONTH, timezone.localdate())
        accounts = selectors.accounts_overview(
            clients=selectors.clients_of(request.user, mine=not show_all), period=period
        )
        context = {"rows": _account_rows(accounts), "show_all": show_all, "month": period.label}
        return render(request, "reporting/accounts.html", context)


def _account_rows(accounts: list[selectors.Account]) -> list[dict]:
    """Each account's cells, formatted here with the report's filters rather than by template
    tags: the page lists every client, and tags, filters and URL reversing per cell cost more
    than the page's SQL. Routes are reversed once for the page."""
    client_url = _ReversedOnce("workspace:client-detail", "client-slug")
    contract_url = _ReversedOnce("contracts:detail", 987654321)
    report_url = _ReversedOnce("reporting:detail", 987654321)

    def report_link(report) -> str:
        if report is None:
            return mark_safe('<span class="text-secondary">None</span>')
        sent = (
            '<span class="badge text-bg-success">sent</span>'
            if report.sent_at
            else '<span class="badge text-bg-secondary">draft</span>'
        )
        return format_html(
            '<a href="{}">{}</a> {}',
            report_url(report.pk),
            report.period.label,
            mark_safe(sent),  # noqa: S308
        )

    # Values repeat from client to client (targets, shares, ratings, blocks, ladder steps), and
    # tags and format_html per cell cost more than the page's SQL: each cell part is made once
    # per distinct value.
    hours = functools.cache(floatformat)
    shown_percent = functools.cache(percent)

    @functools.cache
    def missed_badge(key: str, dimension: str, value, target) -> str:
        return format_html(
            '<span class="badge text-bg-danger">{} {} &lt; {}</span> ',
            figure_label(key, dimension),
            shown_percent(value),
            shown_percent(target),
        )

    @functools.cache
    def contract_ends(end_date, auto_renew: bool) -> str:
        if not end_date:
            return ""
        return format_html(
            '<br><small class="text-secondary">ends {}{}</small>',
            date_format(end_date, "j M Y"),
            ", renews" if auto_renew else "",
        )

    @functools.cache
    def compliance_cell(value, count: int) -> str:
        cell = shown_percent(value)
        if count:
            cell = format_html('{} <small class="text-secondary">of {}</small>', cell, count)
        return cell

    @functools.cache
    def csat_cell(value, count) -> str:
        return format_html('{} <small class="text-secondary">({})</small>', rating(value), count)

    @functools.cache
    def hours_cell(used, block) -> str:
        cell = (hours(used, 1) or "0") + " h"
        if block is not None:
            cell = format_html(
                '{} <small class="text-secondary">of {}</small>', cell, hours(block, 0)
            )
        return cell

    @functools.cache
    def ladder_cell(step: str, month) -> str:
        return format_html(
            '{} <small class="text-secondary">{}</small>', step, date_format(month, "M Y")
        )

    rows = []
    for account in accounts:
        contract, evaluation = account.contract, account.last_evaluation
        if contract is None:
            contract_cell = mark_safe('<span class="text-secondary">No active contract</span>')
        else:
            contract_cell = format_html(
                '<a href="{}">{}</a>{}',
                contract_url(contract.pk),
                contract.number,
                contract_ends(contract.end_date, contract.auto_renew),
            )
        compliance = account.compliance
        missed = account.targets_missed
        missed_cell = (
            mark_safe(  # noqa: S308 (each badge escaped by format_html)
                "".join(
                    missed_badge(metric.key, metric.dimension, metric.value, metric.target)
                    for metric in missed
                )
            )
            if missed
            else mark_safe('<span class="text-secondary">None</span>')
        )
        response = account.figure("response_p50", "all")
        backlog = account.figure("backlog")
        csat = account.figure("csat")
        used, block = account.figure("hours_used"), account.figure("block_hours")
        rows.append(
            {
                "slug": account.client.slug,
                "name": account.client.name,
                "url": client_url(account.client.slug),
                "contract": contract_cell,
                "compliance": (
                    compliance_cell(compliance.value, compliance.count)
                    if compliance
                    else shown_percent("")
                ),
                "missed": missed_cell,
                "response": duration(response.value if response else ""),
                "backlog": (backlog.count if backlog else 0) or 0,
                "csat": (
                    "—"
                    if csat is not None and csat.value is None
                    else csat_cell(csat.value if csat else "", csat.count if csat else "")
                ),
                "hours": hours_cell(used.value if used else "", block.value if block else None),
                "ladder": (
                    ladder_cell(evaluation.get_ladder_step_display(), evaluation.month)
                    if evaluation
                    else mark_safe('<span class="text-secondary">Not evaluated</span>')
                ),
                "monthly": report_link(account.last_monthly_report),
                "qbr": report_link(account.last_qbr),
            }
        )
    return rows


class ReportListView(StaffRequiredMixin, View):
    def get(self, request):
        reports = (
            Report.objects.for_user(request.user)
            .select_related("client", "generated_by")
            .defer("figures")
        )
        client_slug = request.GET.get("client", "")
        if client_slug:
            reports = reports.filter(client__slug=client_slug)
        initial = {}
        if client_slug:
            initial["client"] = (
                Client.objects.for_user(request.user).filter(slug=client_slug).first()
            )
        context = {
            "reports": reports[:REPORTS_LISTED],
            "form": ReportGenerateForm(initial=initial, user=request.user),
            "client_slug": client_slug,
            "clients": Client.objects.for_user(request.user).order_by("name"),
            "can_manage": request.user.role in SERVICE_MANAGER_ROLES,
        }
        return render(request, "reporting/report_list.html", context)


class ReportGenerateView(RoleRequiredMixin, View):
    allowed_roles = SERVICE_MANAGER_ROLES

    def post(self, request):
        form = ReportGenerateForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                report = report_generate(
                    client=form.cleaned_data["client"],
                    period=form.cleaned_data["period"],
                    by=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Version {report.version} generated.")
                return redirect("reporting:detail", report.pk)
        context = {
            "reports": Report.objects.none(),
            "form": form,
            "clients": Client.objects.for_user(request.user).order_by("name"),
            "can_manage": True,
        }
        return render(request, "reporting/report_list.html", context, status=400)


class ReportDetailView(StaffRequiredMixin, View):
    def get(self, request, pk: int, form=None, status=200):
        report = _visible_report(request, pk)
        versions = Report.objects.filter(
            client=report.client, kind=report.kind, period_start=report.period_start
        ).order_by("-version")
        context = {
            "report": report,
            "title": report_title(report),
            "content": ReportContent(report.figures),
            "versions": versions,
            "deliveries": report.deliveries.select_related("sent_by").order_by("sent_at", "pk"),
            "form": form
            or ReportAnnotateForm(
                initial={"summary": report.summary, "recommendations": report.recommendations}
            ),
            "can_manage": request.user.role in SERVICE_MANAGER_ROLES,
            "ticket_url": "staff",
        }
        return render(request, "reporting/report_detail.html", context, status=status)


class ReportAnnotateView(RoleRequiredMixin, View):
    allowed_roles = SERVICE_MANAGER_ROLES

    def post(self, request, pk: int):
        report = _visible_report(request, pk)
        form = ReportAnnotateForm(request.POST)
        if not form.is_valid():
            return ReportDetailView().get(request, pk, form=form, status=400)
        report_annotate(report=report, by=request.user, **form.cleaned_data)
        messages.success(request, "Summary and recommendations saved.")
        return redirect("reporting:detail", report.pk)


class ReportSendView(RoleRequiredMixin, View):
    """Send in two steps: choose among the client's contacts (the report recipients ticked),
    then see who will receive it and confirm."""

    allowed_roles = SERVICE_MANAGER_ROLES

    def _page(self, request, report, form, step: str, status: int = 200):
        options = selectors.report_recipient_options(report)
        chosen = set()
        if form.is_bound and form.is_valid():
            chosen = {contact.pk for contact in form.cleaned_data["contacts"]}
        context = {
            "report": report,
            "title": report_title(report),
            "form": form,
            "step": step,
            "options": options,
            "ticked": chosen if form.is_bound else {o.contact.pk for o in options if o.default},
            "chosen": [option for option in options if option.contact.pk in chosen],
        }
        return render(request, "reporting/report_send.html", context, status=status)

    def get(self, request, pk: int):
        report = _visible_report(request, pk)
        return self._page(request, report, ReportSendForm(report=report), "choose")

    def post(self, request, pk: int):
        report = _visible_report(request, pk)
        form = ReportSendForm(request.POST, report=report)
        if not form.is_valid():
            return self._page(request, report, form, "choose", status=400)
        if request.POST.get("back") or not form.cleaned_data["confirmed"]:
            step = "choose" if request.POST.get("back") else "confirm"
            return self._page(request, report, form, step)
        try:
            queued = report_send(
                report=report, contacts=list(form.cleaned_data["contacts"]), by=request.user
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("reporting:send", report.pk)
        messages.success(
            request,
            f"Sent to {queued} recipient{'s' if queued != 1 else ''}; now in the portal."
            if queued
            else "Everyone chosen had this version already: nothing sent.",
        )
        return redirect("reporting:detail", report.pk)


class ReportDownloadView(View):
    """PDF or CSV of a report: staff (any report) and the client's own users (sent reports)
    each through their own URL."""

    def get(self, request, pk: int, file_format: str):
        report = _visible_report(request, pk)
        return report_file_response(report, file_format)


class StaffReportDownloadView(StaffRequiredMixin, ReportDownloadView):
    pass


class PortalReportDownloadView(ClientUserRequiredMixin, ReportDownloadView):
    pass


class PortalReportListView(ClientUserRequiredMixin, View):
    def get(self, request):
        reports = Report.objects.for_user(request.user).select_related("client").defer("figures")
        return render(request, "portal/report_list.html", {"reports": reports[:REPORTS_LISTED]})


class PortalReportDetailView(ClientUserRequiredMixin, View):
    def get(self, request, pk: int):
        report = _visible_report(request, pk)
        context = {
            "report": report,
            "title": report_title(report),
            "content": ReportContent(report.figures),
            "ticket_url": "portal",
        }
        return render(request, "portal/report_detail.html", context)
