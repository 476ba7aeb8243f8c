"""Demo reports: each demo client's monthly reports for the finished months of its contract
and the last quarter's QBR, sent to the report recipients as the schedule would."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from contracts.choices import ContractStatus
from contracts.models import Contract
from msp.choices import PeriodKind
from msp.periods import Period
from reporting.services import report_annotate, report_ensure, report_send

DEMO_MONTHS = 3
ACME_SUMMARY = (
    "Service desk volume was steady this quarter and satisfaction stayed high, but the first "
    "response to one P1 outage a month came late from August on. We have added an on-call "
    "engineer to the monitoring rota and agreed a remediation plan."
)
ACME_RECOMMENDATIONS = (  # Markdown, as account managers write it
    "- **Replace the ageing file server** (the top recurring asset) before year end.\n"
    "- Move the VPN to the new firewall to stop the hourly drops."
)


def seed_reports(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    made = 0
    contracts = Contract.objects.filter(status=ContractStatus.ACTIVE).select_related("client")
    for contract in contracts:
        client = contract.client
        today = timezone.localtime(now, ZoneInfo(client.timezone)).date()
        last_month = Period.last_finished(PeriodKind.MONTH, today)
        periods = [last_month.shifted(-back) for back in range(DEMO_MONTHS - 1, -1, -1)]
        periods.append(Period.last_finished(PeriodKind.QUARTER, today))
        for period in periods:
            if contract.start_date >= period.end_day:
                continue
            report, created = report_ensure(client=client, period=period, now=now)
            if not created:
                continue
            made += 1
            if period.kind == PeriodKind.QUARTER and client.slug == "acme":
                report_annotate(
                    report=report,
                    summary=ACME_SUMMARY,
                    recommendations=ACME_RECOMMENDATIONS,
                    by=client.account_manager,
                    now=now,
                )
            report_send(report=report, now=now)
    return made
