"""The Celery app, configured from Django settings (CELERY_* names), with the one beat schedule."""

import logging.config
import os

from celery import Celery, Task, signals
from celery.schedules import crontab
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msp.settings.dev")


class AuditedTask(Task):
    """Every task acts as the system in the audit trail, named "task:<name>": on a worker and
    when called directly alike (__call__ is what both go through). Its correlation id, which
    its log lines carry as request_id, is that of the request or task that queued it (a
    message header), or of the scope it is called in, or a new one."""

    def __call__(self, *args, **kwargs):
        from msp.audit.context import AuditContext, audit_scope, current_cid
        from msp.logging import TASK_REQUEST_ID_HEADER, request_id_accepted, request_id_new

        cid = (
            request_id_accepted(self.request.get(TASK_REQUEST_ID_HEADER))
            or current_cid()
            or request_id_new()
        )
        if not self.request.called_directly:
            # Celery's own lines about this run (succeeded, failed) come after the scope.
            setattr(self.request, TASK_REQUEST_ID_HEADER, cid)
        with audit_scope(AuditContext(source=f"task:{self.name}", cid=cid)):
            return super().__call__(*args, **kwargs)


app = Celery("msp", task_cls=AuditedTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.before_task_publish.connect
def _carry_request_id(headers: dict | None = None, **kwargs) -> None:
    """A task queued by a request (or by another task) carries its correlation id."""
    from msp.audit.context import current_cid
    from msp.logging import TASK_REQUEST_ID_HEADER

    cid = current_cid()
    if cid and headers is not None:
        headers.setdefault(TASK_REQUEST_ID_HEADER, cid)


@signals.setup_logging.connect
def _logging_from_django(**kwargs) -> None:
    """Worker and beat log as the web does (Django's LOGGING: LOG_FORMAT, LOG_LEVEL), instead
    of Celery replacing the handlers with its own; Celery's --loglevel is not used."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


# SLA timers get a queue of their own. A worker takes from its queues in turn, so a sweep waits
# for a task or two of the default queue, not behind a backlog of hundreds of emails (reports
# sent on the 1st, a mail outage catching up). A worker started without -Q reads both.
TIMER_TASKS = ("tickets.sla_sweep", "tickets.maintenance_pauses", "msp.heartbeat")
app.conf.task_queues = (Queue("celery"), Queue("timers"))
app.conf.task_routes = {name: {"queue": "timers"} for name in TIMER_TASKS}


@app.on_after_configure.connect
def _install_beat_schedule(sender: Celery, **kwargs) -> None:
    """All periodic work is listed here, in one place."""
    from django.conf import settings

    sender.conf.beat_schedule = {
        # SLA warnings, breaches and escalations: due clocks come from an index; each run
        # handles what is due and stops, so a frequent beat keeps them within seconds.
        "sla-sweep": {
            "task": "tickets.sla_sweep",
            "schedule": float(settings.SLA_SWEEP_INTERVAL_SECONDS),
            "options": {"expires": float(settings.SLA_SWEEP_INTERVAL_SECONDS)},
        },
        # Outbox messages whose delivery task was lost (Redis flushed, worker died) or failed.
        "outbox-retry": {
            "task": "msp.outbox_retry",
            "schedule": 30.0,
            "options": {"expires": 30.0},
        },
        # Maintenance windows that pause SLA clocks: pauses and resumes take the window's own
        # instants, so a minute's lag costs no accuracy.
        "maintenance-pauses": {
            "task": "tickets.maintenance_pauses",
            "schedule": 60.0,
            "options": {"expires": 60.0},
        },
        # Inbound mailboxes (IMAP): new mail becomes tickets or replies.
        "poll-mailboxes": {
            "task": "tickets.poll_mailboxes",
            "schedule": float(settings.MAILBOX_POLL_SECONDS),
            "options": {"expires": float(settings.MAILBOX_POLL_SECONDS)},
        },
        # Contract renewals and expiries, and notice-period warnings: once a day, at 06:00 UTC.
        "contract-renewals": {"task": "contracts.renewals", "schedule": crontab(minute=0, hour=6)},
        # Last month's targets, ladder step and credits per contract. Hourly, because months end
        # at a different UTC hour in each client's time zone; months already evaluated are
        # skipped.
        "contract-evaluations": {
            "task": "contracts.monthly_evaluations",
            "schedule": crontab(minute=20),
        },
        # Monthly reports on the 1st and QBRs after each quarter, per client's time zone (hence
        # hourly), after the evaluations above; each period is generated and emailed once.
        "scheduled-reports": {
            "task": "reporting.scheduled_reports",
            "schedule": crontab(minute=40),
        },
        # Invoice runs: last month's draft invoices on the 1st at 13:30 UTC, after every client's
        # month has ended (UTC-12 ends it at 12:00 UTC) and been evaluated (at :20), so the
        # month's service credits are on it. A run again only recomputes drafts.
        "invoice-run": {
            "task": "reporting.invoice_run",
            "schedule": crontab(minute=30, hour=13, day_of_month=1),
        },
        # Invoice runs asked for while the broker was down, or whose worker died.
        "invoice-runs-resume": {
            "task": "reporting.invoice_runs_resume",
            "schedule": 60.0,
            "options": {"expires": 60.0},
        },
        # Outbound webhooks whose delivery is due again (back-off), and the delivery log
        # trimmed of finished deliveries once a night.
        "webhook-retry": {
            "task": "msp.webhook_retry",
            "schedule": 30.0,
            "options": {"expires": 30.0},
        },
        "webhook-prune": {"task": "msp.webhook_prune", "schedule": crontab(minute=10, hour=3)},
        "heartbeat": {
            "task": "msp.heartbeat",
            "schedule": float(settings.HEARTBEAT_INTERVAL_SECONDS),
            # A missed heartbeat is worthless later; never let them pile up in the queue.
            "options": {"expires": float(settings.HEARTBEAT_INTERVAL_SECONDS)},
        },
    }
