from datetime import UTC, date, datetime

import factory

from msp.periods import Period
from reporting.models import Report
from tests.factories.msp import ClientFactory


class ReportFactory(factory.django.DjangoModelFactory):
    """A report generated through `reporting.services.report_generate` (October 2026, generated
    on 5 November unless told otherwise), and sent through `report_send` with `sent=True`."""

    class Meta:
        model = Report

    client = factory.SubFactory(ClientFactory)
    period = Period("month", date(2026, 10, 1))
    now = datetime(2026, 11, 5, 14, tzinfo=UTC)
    sent = False

    @classmethod
    def _create(cls, model_class, *args, sent: bool, now: datetime, **kwargs) -> Report:
        from reporting.services import report_generate, report_send

        report = report_generate(now=now, **kwargs)
        if sent:
            report_send(report=report, now=now)
        return report
