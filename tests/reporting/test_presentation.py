"""How a report reads its figures: changes against the previous period at the precision shown."""

from decimal import Decimal

from msp.periods import Period
from reporting.presentation import Headline
from reporting.templatetags.report_tags import headline_change, headline_value


def test_a_change_too_small_to_show_reads_as_no_change():
    # 4 h 41 min 10 s against 4 h 41 min: the page shows both as 4 h 41 min.
    mttr = Headline("Mean time to resolve", 16870, "seconds", 16860, False)
    assert headline_change(mttr) == "no change" and mttr.improved is None


def test_changes_read_with_their_unit_and_direction():
    compliance = Headline("SLA compliance", Decimal("95.0"), "%", Decimal("97.5"), True)
    assert headline_change(compliance) == "-2.50 pts" and compliance.improved is False
    response = Headline("Median first response", 480, "seconds", 1200, False)
    assert headline_change(response) == "-12 min" and response.improved is True
    volume = Headline("Tickets opened", 12, "count", 10, False)
    assert headline_change(volume) == "+2" and volume.improved is False
    assert headline_change(Headline("CSAT", None, "rating", 4, True)) == ""


def test_period_labels_name_the_year_in_full():
    from datetime import date

    assert Period("month", date(2026, 9, 1)).short_label == "Sep 2026"
    assert Period("quarter", date(2026, 7, 1)).short_label == "Q3 2026"


def test_a_change_is_the_difference_of_the_figures_as_they_read():
    # 4 h 41 min 30 s and 4 h 41 min both read "4 h 41 min" (durations are cut to the minute).
    mttr = Headline("Mean time to resolve", 16890, "seconds", 16860, False)
    assert headline_change(mttr) == "no change"
    # Percentages read to 0.01, cut down as compliance is judged: 95.049 % and 95.041 % both
    # read "95.04 %"; 94.999 % reads "94.99 %", never "95.00 %".
    compliance = Headline("SLA compliance", Decimal("95.049"), "%", Decimal("95.041"), True)
    assert headline_value(compliance) == "95.04 %" and headline_change(compliance) == "no change"
    compliance = Headline("SLA compliance", Decimal("94.999"), "%", Decimal("95.001"), True)
    assert headline_value(compliance) == "94.99 %"
    assert headline_change(compliance) == "-0.01 pts" and compliance.improved is False
    assert headline_value(Headline("CSAT", Decimal("4.5"), "rating", None, True)) == "4.50"


def test_a_change_of_minutes_in_durations_of_days_reads_as_no_change():
    # 1 d 4 h 10 min and 1 d 4 h both read "1 d 4 h"; 1 d 5 h is an hour more.
    mttr = Headline("Mean time to resolve", 101400, "seconds", 100800, False)
    assert headline_value(mttr) == "1 d 4 h" and headline_change(mttr) == "no change"
    assert headline_change(Headline("MTTR", 104400, "seconds", 100800, False)) == "+1 h 0 min"


class TestNotes:
    """A median of "0 min" for the month so far read as if nothing took any time: the page says
    how few figures it is made of and why a time can be under a minute."""

    def response(self, value, count, live=True):
        return Headline(
            "Median first response",
            value,
            "seconds",
            None,
            False,
            count=count,
            noun="first response",
            live=live,
            business_time=True,
        )

    def test_a_median_under_a_minute_says_why(self):
        headline = self.response(Decimal(0), 2)
        assert headline_value(headline) == "under 1 min"
        assert headline.note == (
            "Of 2 first responses so far. Counted in business hours: a first reply sent outside"
            " them takes no time."
        )

    def test_nothing_yet_reads_as_nothing_yet(self):
        headline = self.response(None, 0)
        assert headline_value(headline) == "—"
        assert headline.note == "No first response yet."
        assert self.response(None, 0, live=False).note == "No first response in the period."

    def test_enough_figures_need_no_note(self):
        headline = self.response(Decimal(480), 36, live=False)
        assert headline_value(headline) == "8 min" and headline.note == ""
        assert self.response(Decimal(480), 1).note == "Of 1 first response so far."


def test_the_dashboard_month_is_live_and_a_report_is_not():
    from reporting.presentation import ReportContent

    period = {"kind": "month", "label": "November 2026", "end": "2026-12-01T05:00:00+00:00"}
    base = {
        "client": {"name": "A", "timezone": "UTC"},
        "contract": None,
        "trend": [],
        "metrics": [],
        "breaches": {"total": 0, "rows": []},
        "period": period,
    }
    assert ReportContent({**base, "computed_at": "2026-11-03T10:00:00+00:00"}).is_live
    assert not ReportContent({**base, "computed_at": "2026-12-01T09:00:00+00:00"}).is_live
