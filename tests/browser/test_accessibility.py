"""Every main page of the workspace and the portal, as each role sees it, in a real browser:
axe-core finds no serious or critical WCAG 2.1 AA violation in the light or the dark scheme,
and at a phone's width (390 px) no page is wider than the screen.

The pages are the role's whole main navigation (so a page added to it is checked from then
on) and the object pages it opens from there: a ticket, a client, a contract on every rung of
the governance ladder, a report; before the client signs in, the sign-in and password reset
pages. One browser, and one dataset per role."""

import pytest
from axe_playwright_python.base import AXE_SCRIPT

from tests.browser.conftest import ROLES, navigation_pages, object_pages, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
SERIOUS = {"serious", "critical"}

# The elements that reach past the right edge of a phone's screen, to say what is too wide:
# those not inside a box that scrolls sideways, and any positioned one (which can widen the
# page from inside such a box).
TOO_WIDE = """() => [...document.querySelectorAll("body *")]
  .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter(el => ["absolute", "fixed"].includes(getComputedStyle(el).position)
    || ![...document.querySelectorAll("body *")].some(box => box !== el && box.contains(el)
      && ["auto", "scroll", "hidden"].includes(getComputedStyle(box).overflowX)))
  .slice(0, 5)
  .map(el => el.tagName.toLowerCase() + (el.className ? "." + String(el.className).trim()
    .replace(/\\s+/g, ".") : "") + " " + Math.round(el.getBoundingClientRect().right) + "px")"""


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now (axe-core comes with
    axe-playwright-python; it is put in the page once, then run once per scheme)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    results = page.evaluate("options => axe.run(document, options)", WCAG_AA)["violations"]
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']} {node['failureSummary']}"
        for violation in results
        if violation["impact"] in SERIOUS
        for node in violation["nodes"][:3]
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_is_accessible_in_both_schemes_and_fits_a_phone(
    browser, live_server, world, role
):
    # Reduced motion turns Bootstrap's colour transitions off, so that axe reads the scheme's
    # colours at once rather than a link half-way between two schemes.
    context = browser.new_context(
        base_url=live_server.url, viewport=DESKTOP, reduced_motion="reduce"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []

    def check(path: str) -> None:
        response = page.goto(path)
        assert response.status == 200, (path, response.status)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.wait_for_function(
                "scheme => document.documentElement.dataset.bsTheme === scheme", arg=scheme
            )
            problems.extend(f"{path} [{scheme}] {v}" for v in serious_violations(page))
        page.set_viewport_size(PHONE)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            problems.append(f"{path} is {width} px wide at 390 px: {page.evaluate(TOO_WIDE)}")
        page.set_viewport_size(DESKTOP)
        page.emulate_media(color_scheme="light")

    if role == "client":  # where an emailed link leads first
        check("/accounts/login/")
        check("/accounts/password-reset/")
    sign_in(page, world["people"][role])
    pages = list(dict.fromkeys(navigation_pages(page) + object_pages(world, role)))
    assert len(pages) >= 6
    for path in pages:
        check(path)
    context.close()
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_the_keyboard_focus_is_a_solid_ring(browser, live_server, world):
    """Bootstrap's own focus glow is a 25 % tint; here every focused control has a 3 px ring."""
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, world["people"]["client"])
    rings = []
    for _ in range(4):  # skip link, brand, the first navigation links
        page.keyboard.press("Tab")
        rings.append(
            page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return [document.activeElement.textContent.trim(), s.outlineStyle,"
                " s.outlineWidth]; }"
            )
        )
    context.close()
    assert [ring[1:] for ring in rings] == [["solid", "3px"]] * 4, rings
    assert rings[0][0] == "Skip to content"
