"""Maintenance windows that pause SLA clocks (a window's `pauses_sla` option).

While an occurrence of such a window is open, the resolution clocks of open tickets about the
affected assets (the window's asset, or any asset when the window covers the whole contract)
are paused from the occurrence's start; when it closes they resume at its end, unless the
ticket is in a pause status of its own by then. A beat task runs this every minute; pauses and
resumes take the window's own instants, so the clocks are exact whatever the task's lag.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from contracts.choices import ContractStatus
from contracts.models import MaintenanceWindow
from sla.ticket_clocks import sla_resolution_pause_since, sla_resolution_resume
from tickets.choices import OPEN_STATUSES, EventKind
from tickets.models import MaintenancePause, Ticket
from tickets.services.write import TicketWrite

# Occurrences that opened this long ago are still looked at (a beat outage shorter than this
# loses nothing); longer windows are found through their pause rows.
LOOKBACK = timedelta(days=2)


@dataclass
class MaintenanceRun:
    paused: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)


def maintenance_pauses_apply(*, now: datetime) -> MaintenanceRun:
    run = MaintenanceRun()
    _resume_ended(now, run)
    windows = MaintenanceWindow.objects.filter(
        pauses_sla=True, contract__status=ContractStatus.ACTIVE
    ).select_related("contract__client")
    for window in windows:
        occurrences = window.occurrences((now - LOOKBACK, now))
        for start, end in occurrences:
            if start <= now < end:
                _pause_affected(window, start, end, now, run)
    return run


def _affected_tickets(window: MaintenanceWindow, opened_before: datetime):
    tickets = Ticket.objects.filter(
        contract_id=window.contract_id, status__in=OPEN_STATUSES, created_at__lt=opened_before
    )
    if window.asset_id:
        return tickets.filter(asset_id=window.asset_id)
    return tickets.filter(asset__isnull=False)


def _pause_affected(window, start: datetime, end: datetime, now: datetime, run) -> None:
    # Only tickets whose resolution clock runs; those paused by this occurrence before and
    # resumed since (a status change) are paused again.
    candidates = _affected_tickets(window, end).filter(
        Q(sla_clocks__kind="resolution", sla_clocks__state="running")
    )
    for ticket_id in candidates.values_list("pk", flat=True).distinct():
        with transaction.atomic():
            write = TicketWrite.begin(ticket_id, None, now)
            ticket = write.ticket
            if ticket.status not in OPEN_STATUSES:
                continue
            MaintenancePause.objects.update_or_create(
                window=window,
                ticket=ticket,
                occurrence_start=start,
                defaults={"occurrence_end": end, "resumed_at": None},
            )
            sla_resolution_pause_since(write.clocks, since=start, now=now)
            write.save()
            write.event(
                EventKind.MAINTENANCE_PAUSE,
                at=max(start, ticket.created_at),
                detail=f"{window.name}, until {end:%Y-%m-%d %H:%M} UTC",
            )
            run.paused.append(ticket.number)


def _resume_ended(now: datetime, run) -> None:
    ended = MaintenancePause.objects.filter(resumed_at__isnull=True, occurrence_end__lte=now)
    for pause_id in ended.values_list("pk", flat=True):
        with transaction.atomic():
            ticket_id, window_name = MaintenancePause.objects.values_list(
                "ticket_id", "window__name"
            ).get(pk=pause_id)
            # The ticket first, as every ticket service locks it; then the pause row.
            write = TicketWrite.begin(ticket_id, None, now)
            ticket = write.ticket
            pause = MaintenancePause.objects.select_for_update().get(pk=pause_id)
            if pause.resumed_at is not None:
                continue
            pause.resumed_at = pause.occurrence_end
            pause.save(update_fields=["resumed_at"])
            if (
                ticket.status not in OPEN_STATUSES
                or ticket.status in ticket.sla_policy.pause_statuses
            ):
                continue
            sla_resolution_resume(write.clocks, at=pause.occurrence_end)
            write.save()
            write.event(EventKind.MAINTENANCE_RESUME, at=pause.occurrence_end, detail=window_name)
            run.resumed.append(ticket.number)
