import json

from django.core.management.base import BaseCommand

from msp.selectors import health_report
from sla.selectors import sweep_lag


class Command(BaseCommand):
    help = "Print the health report: database, broker, beat, SLA sweep lag and outbox backlog."

    def handle(self, *args, **options) -> None:
        report = health_report(sweep_lag=sweep_lag)
        self.stdout.write(json.dumps(report, indent=2))
        if report["status"] != "ok":
            raise SystemExit(1)
