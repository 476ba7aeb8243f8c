"""Every class a template builds from a stored value (`ladder-{{ evaluation.ladder_step }}`)
has a rule in static/css/app.css for each value the field can hold. A missing one is a badge
with white text on no background (the governance ladder's "Service credit" was white on the
table's pale yellow), which no page test notices.

A new prefix of that kind must be entered in PREFIXES below with the values it takes."""

import re
from pathlib import Path

from django.conf import settings

from contracts.choices import LadderStep
from sla.choices import ClockState, Priority
from tickets.templatetags.sla_tags import sla_state

ROOT = Path(settings.BASE_DIR)
APP_CSS = (ROOT / "static" / "css" / "app.css").read_text()

# The sla_badge tag's states, from the function that decides them.
SLA_STATES = sorted(
    {
        sla_state(due, warn, now, paused)
        for due, warn, now, paused in [(None, None, 0, True), (None, None, 0, False)]
    }
    | {"ok", "warning", "breached"}
)

# prefix -> the values it is completed with; None: the plain look is meant for values
# without a rule of their own (timeline events: only replies, notes and escalations stand out).
PREFIXES = {
    "priority": Priority.values,
    "state": ClockState.values,
    "clock": ClockState.values,
    "ladder": LadderStep.values,
    "sla": SLA_STATES,
    "event": None,
    # Hooks with no rule of their own: the look comes from Bootstrap classes beside them
    # (presence badges text-bg-warning/info; the note composer border-warning bg-warning-subtle).
    "presence": None,
    "composer": None,
}

DYNAMIC_CLASS = re.compile(r"""class="[^"]*?\b([a-z]+)-\{\{""")


def _template_prefixes() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / "templates").rglob("*.html"):
        for prefix in DYNAMIC_CLASS.findall(path.read_text()):
            found.setdefault(prefix, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_class_built_from_a_value_is_known():
    found = _template_prefixes()
    assert {"priority", "state", "ladder"} <= set(found)  # the scan still finds them
    unknown = {prefix: paths for prefix, paths in found.items() if prefix not in PREFIXES}
    assert not unknown, f"classes built from a value, not in PREFIXES: {unknown}"


def test_every_value_of_those_classes_has_a_rule():
    missing = [
        f".{prefix}-{value}"
        for prefix, values in PREFIXES.items()
        for value in values or ()
        if not re.search(rf"\.{re.escape(prefix)}-{re.escape(value)}(?![\w-])", APP_CSS)
    ]
    assert not missing, f"no rule in static/css/app.css for {missing}"
