"""One rule for time zones: every time in the viewer's zone (their setting, else the
browser's, else UTC), labelled with the zone; exact readings across the DST changes."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from msp.choices import UserRole
from msp.timetext import time_text
from tests.factories import StaffFactory
from tests.helpers import signed_in

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def when(source: str, **context) -> str:
    return Template("{% load time_tags %}" + source).render(Context(context))


def reference(instant: datetime, zone: ZoneInfo) -> str:
    """A naive reading: the local wall clock by zoneinfo, the zone's letters."""
    local = instant.astimezone(zone)
    return f"{local.day} {local:%b} {local:%H:%M} {local.tzname()}"


@pytest.mark.parametrize(
    ("instant", "zone", "expected"),
    [
        # Europe/London springs forward at 01:00 UTC on Sunday 29 March 2026.
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), LONDON, "29 Mar 00:59 GMT"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), LONDON, "29 Mar 02:00 BST"),
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), LONDON, "29 Mar 02:30 BST"),
        # America/New_York falls back at 06:00 UTC on Sunday 1 November 2026: 01:30 twice.
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), NEW_YORK, "1 Nov 01:30 EDT"),
        (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), NEW_YORK, "1 Nov 01:30 EST"),
        (datetime(2026, 11, 1, 4, 59, tzinfo=UTC), NEW_YORK, "1 Nov 00:59 EDT"),
    ],
)
def test_the_tag_reads_exact_local_times_across_dst(instant, zone, expected):
    assert time_text(instant, zone, now=instant) == expected == reference(instant, zone)
    with timezone.override(zone):
        html = when("{% when at %}", at=instant)
    iso = instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert html.startswith(f'<time datetime="{iso}" title="')
    assert html.endswith(f">{expected}</time>")


def test_every_hour_of_the_dst_days_matches_the_naive_reference():
    for start, zone in ((datetime(2026, 3, 28, tzinfo=UTC), LONDON),
                        (datetime(2026, 10, 31, tzinfo=UTC), NEW_YORK)):  # fmt: skip
        for quarter in range(4 * 72):
            instant = start + timedelta(minutes=15 * quarter)
            assert time_text(instant, zone, now=instant) == reference(instant, zone)


def test_the_client_time_on_hover_the_year_when_not_this_year_and_empty_values():
    due = datetime(2026, 11, 30, 13, 5, tzinfo=UTC)
    with timezone.override(ZoneInfo("Europe/Paris")):
        html = when('{% when due client_tz="America/New_York" %}', due=due)
        assert 'title="Client&#x27;s time: Mon 30 Nov 08:05 EST"' in html
        assert ">30 Nov 14:05 CET</time>" in html
        old = when("{% when at %}", at=datetime(2024, 1, 2, 3, 4, tzinfo=UTC))
        assert ">2 Jan 2024 04:04 CET</time>" in old
        assert when('{% when nothing empty="never" %}', nothing=None) == "never"
        assert when("{% when day %}", day=date(2026, 12, 31)) == (
            '<time datetime="2026-12-31">31 Dec 2026</time>'
        )
        # A client's document names the client's zone, whoever reads it.
        assert ">30 Nov 08:05 EST</time>" in when('{% when due zone="America/New_York" %}', due=due)


def test_zones_without_letters_read_as_offsets():
    instant = datetime(2026, 11, 30, 13, 5, tzinfo=UTC)
    assert time_text(instant, ZoneInfo("America/Sao_Paulo"), now=instant) == "30 Nov 10:05 UTC-03"
    assert time_text(instant, ZoneInfo("Asia/Kathmandu"), now=instant) == "30 Nov 18:50 UTC+05:45"


@pytest.mark.django_db
class TestViewerZone:
    """Precedence: the user's own setting, then the browser's cookie, then UTC."""

    def shown_in(self, http) -> str:
        page = http.get(reverse("mfa-setup")).content.decode()
        marker = 'data-testid="current-timezone">'
        start = page.index(marker) + len(marker)
        return page[start : page.index("</p>", start)]

    def test_utc_without_a_setting_or_a_cookie(self):
        http = signed_in(StaffFactory(role=UserRole.DISPATCHER))
        assert self.shown_in(http).startswith("Times are shown in UTC")

    def test_the_browser_cookie_when_the_user_chose_none(self):
        http = signed_in(StaffFactory(role=UserRole.DISPATCHER))
        http.cookies["tz"] = "America%2FNew_York"  # as static/js/timezone.js writes it
        assert self.shown_in(http).startswith("Times are shown in America/New_York")

    def test_a_bad_cookie_is_ignored(self):
        http = signed_in(StaffFactory(role=UserRole.DISPATCHER))
        for bad in ("Mars/Olympus_Mons", "../../etc/passwd", "x" * 300, ""):
            http.cookies["tz"] = bad
            assert self.shown_in(http).startswith("Times are shown in UTC")

    def test_the_users_setting_beats_the_cookie(self):
        user = StaffFactory(role=UserRole.DISPATCHER)
        http = signed_in(user)
        http.cookies["tz"] = "America/New_York"
        response = http.post(reverse("user-timezone"), {"timezone": "Asia/Tokyo"})
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.timezone == "Asia/Tokyo"
        assert self.shown_in(http) == "Times are shown in Asia/Tokyo."
        # Back to the browser's.
        http.post(reverse("user-timezone"), {"timezone": ""})
        assert self.shown_in(http).startswith("Times are shown in America/New_York")

    def test_an_unknown_zone_is_a_form_error(self):
        user = StaffFactory(role=UserRole.DISPATCHER, timezone="Europe/Berlin")
        response = signed_in(user).post(reverse("user-timezone"), {"timezone": "Mars/Base"})
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
        user.refresh_from_db()
        assert user.timezone == "Europe/Berlin"

    def test_signed_out_visitors_cannot_set_one(self):
        from django.test import Client

        response = Client().post(reverse("user-timezone"), {"timezone": "Asia/Tokyo"})
        assert response.status_code == 302 and "login" in response["Location"]

    def test_a_page_reads_the_same_instant_in_the_viewers_zone(self, client_a):
        from tickets.services import ticket_open

        opened = datetime(2026, 11, 30, 13, 5, tzinfo=UTC)
        ticket = ticket_open(client=client_a, subject="Printer", at=opened)
        user = StaffFactory(role=UserRole.ADMIN, timezone="Europe/Paris")
        page = signed_in(user).get(reverse("workspace:client-detail", args=[client_a.slug]))
        assert ticket.sla_due_at is not None
        due = time_text(ticket.sla_due_at, ZoneInfo("Europe/Paris"))
        assert due in page.content.decode()


def test_the_sla_countdowns_title_reads_the_due_time_in_the_viewers_zone():
    due = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    with timezone.override(NEW_YORK):
        html = Template("{% load sla_tags %}{% sla_badge due None now %}").render(
            Context({"due": due, "now": due - timedelta(hours=1)})
        )
    assert 'title="Due Sun 1 Nov 01:30 EST"' in html
