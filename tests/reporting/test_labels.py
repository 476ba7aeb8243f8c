"""A report names things as people do: every stored choice reads as its label, never as the
internal value ("Service desk", not "service_desk" or "Service_desk")."""

import pytest

from contracts.choices import LadderStep, Service
from reporting.presentation import ReportContent, choice_label, figure_label
from sla.choices import ClockKind
from tickets.choices import TicketSource, TicketType


def figures(metrics: list[dict], breaches: list[dict] = ()) -> dict:
    return {
        "period": {"kind": "month", "first_day": "2026-10-01", "label": "October 2026"},
        "client": {"name": "Acme", "timezone": "UTC"},
        "contract": None,
        "trend": [],
        "metrics": metrics,
        "breaches": {"total": len(breaches), "rows": list(breaches)},
    }


def metric(key: str, dimension: str, value=None, count=1, target=None) -> dict:
    return {"key": key, "dimension": dimension, "value": value, "count": count, "target": target}


def test_ticket_types_and_sources_read_as_their_labels():
    content = ReportContent(
        figures(
            [metric("volume", f"type:{value}") for value in TicketType.values]
            + [metric("volume", f"source:{value}") for value in TicketSource.values]
            + [metric("volume", "site:-"), metric("volume", "site:Plant 2")]
        )
    )
    groups = {title: [row.label for row in rows] for title, rows in content.volume_groups}
    assert groups["By type"] == TicketType.labels
    assert groups["By source"] == TicketSource.labels
    assert groups["By site"] == ["No site", "Plant 2"]


def test_services_read_as_their_labels_in_availability_and_missed_targets():
    content = ReportContent(
        figures([metric("availability", value, "99.000", 0, "99.900") for value in Service.values])
    )
    assert [row.label for row in content.availability] == Service.labels
    assert [row.label for row in content.missed_targets] == [
        f"{label} availability" for label in Service.labels
    ]
    assert figure_label("availability", "service_desk") == "Service desk availability"


@pytest.mark.parametrize("step", LadderStep.values)
def test_governance_steps_read_as_their_labels(step):
    content = ReportContent(figures([metric("ladder", step, count=0)]))
    assert content.ladder["label"] == LadderStep(step).label


@pytest.mark.parametrize("kind", ClockKind.values)
def test_clocks_read_in_words(kind):
    breach = {
        "ticket_id": 1,
        "ticket": "#1",
        "subject": "Down",
        "priority": "P1",
        "clock": kind,
        "breached_at": "2026-10-03T10:00:00+00:00",
        "exemption": None,
    }
    content = ReportContent(figures([metric("compliance", f"P1/{kind}", "50.000", 2)], [breach]))
    words = {"response": "first response", "resolution": "resolution", "next_update": "update"}
    assert content.breaches[0]["clock_name"] == words[kind]
    assert content.compliance[0].label == f"P1 {words[kind]}"
    assert figure_label("compliance", f"P1/{kind}") == f"P1 {words[kind]}"


def test_a_value_no_longer_among_the_choices_is_still_made_readable():
    # An older snapshot may hold a value since removed from the choices.
    assert choice_label({}, "managed_print") == "Managed print"
    content = ReportContent(figures([metric("volume", "source:walk_in")]))
    assert content.volume_groups[0][1][0].label == "Walk in"


def test_no_internal_name_reaches_the_page(month_figures_page):
    internal = [v for v in [*Service.values, *TicketType.values, *TicketSource.values] if "_" in v]
    assert internal
    for value in internal:
        assert value not in month_figures_page.lower()


@pytest.fixture
def month_figures_page() -> str:
    from django.template.loader import render_to_string

    content = ReportContent(
        figures(
            [metric("availability", value, "100.000", 0, "99.900") for value in Service.values]
            + [metric("volume", f"type:{value}") for value in TicketType.values]
            + [metric("volume", f"source:{value}") for value in TicketSource.values]
        )
    )
    return render_to_string("reporting/_report_body.html", {"content": content})
