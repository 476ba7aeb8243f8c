"""How an instant reads, everywhere: in the viewer's time zone (activated per request by
msp.middleware.TimezoneMiddleware), always with the zone's name, as "30 Nov 14:05 CET".

Pages go through the `{% when %}` tag (msp/templatetags/time_tags.py); emails and stored
texts through `time_text`. Reports and their PDFs are a client's document and name the
client's zone instead (`zone=`); the API answers ISO 8601 in UTC.
"""

import zoneinfo
from datetime import date, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

from django.utils import timezone

# short "30 Nov 14:05 CET" (the year when not this year's), weekday "Mon 30 Nov 14:05 CET",
# seconds "30 Nov 14:05:09 CET", long "30 Nov 2026 14:05 CET" (documents), full
# "Mon 30 Nov 2026 14:05:09 CET", date "30 Nov 2026" (the day in that zone; the title has the time).
STYLES = ("short", "weekday", "seconds", "long", "full", "date")


@cache
def known_zones() -> frozenset[str]:
    # available_timezones() walks the zoneinfo folders: read once per process.
    return frozenset(zoneinfo.available_timezones())


def zone_or_none(name: object) -> ZoneInfo | None:
    """The zone named `name` if this machine knows it (a cookie, a stored setting), else None."""
    if not isinstance(name, str) or not name or len(name) > 64 or name not in known_zones():
        return None
    return ZoneInfo(name)


def zone_label(local: datetime) -> str:
    """The zone's abbreviation at that instant (CET, CEST, EST, GMT, BST), or its offset from
    UTC where the zone has no letters ("UTC-03")."""
    name = local.tzname() or ""
    if not name or name[0] in "+-":
        offset = local.strftime("%z")  # +0530
        sign, hours, minutes = offset[0], offset[1:3], offset[3:5]
        return f"UTC{sign}{hours}" + (f":{minutes}" if minutes != "00" else "")
    return name


def _as_zone(zone: tzinfo | str | None) -> tzinfo:
    if zone is None:
        return timezone.get_current_timezone()
    if isinstance(zone, str):
        return zone_or_none(zone) or timezone.get_current_timezone()
    return zone


def time_text(
    instant: datetime, zone: tzinfo | str | None = None, style: str = "short", now=None
) -> str:
    """`instant` in `zone` (default: the active zone, the viewer's), with the zone's name:
    "30 Nov 14:05 CET"; the year is added when it is not this year's."""
    if timezone.is_naive(instant):
        instant = timezone.make_aware(instant, timezone.get_default_timezone())
    local = instant.astimezone(_as_zone(zone))
    if style == "date":
        return f"{local.day} {local:%b %Y}"
    this_year = (now or timezone.now()).astimezone(local.tzinfo).year
    always = style in ("long", "full")
    year = f" {local.year}" if always or local.year != this_year else ""
    clock = f"{local:%H:%M:%S}" if style in ("seconds", "full") else f"{local:%H:%M}"
    weekday = f"{local:%a} " if style in ("weekday", "full") else ""
    return f"{weekday}{local.day} {local:%b}{year} {clock} {zone_label(local)}"


def date_text(day: date) -> str:
    return f"{day.day} {day:%b %Y}"
