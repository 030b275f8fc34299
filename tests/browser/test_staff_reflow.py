"""No staff page scrolls sideways on a 320 px screen (WCAG 2.2, 1.4.10 Reflow).

Signed in as each demo member of staff, the test walks the staff pages from the staff home page,
following every link to a staff page (so path parameters are filled with the demo school's own
cases, accounts, terms and wording), and measures each page at 320 CSS pixels wide. The list of
pages to reach is read from the routers: a new staff page that no demo role can reach by a link
fails here until it is linked or listed below. Tables may scroll inside their own region
(WCAG's exception for data tables); the page itself may not.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page

from portal.demo import DEMO_STAFF
from portal.domains import INSTALLED_DOMAINS, installed
from tests.browser.conftest import PageMaker, sign_in
from tests.browser.empty_portal import EMPTY_ADMIN, EMPTY_PASSWORD, empty_context, empty_live_server
from tests.routes import api_routes

NARROWEST = {"width": 320, "height": 640}
# Files, not pages: a download has no width.
DOWNLOADS = {
    "/staff/complaints/{reference}/attachments/{attachment_id}",
    "/staff/complaints/{reference}/letters/{message_id}.pdf",
    "/staff/complaints/{reference}/letter.pdf",
    "/staff/complaints/{reference}/bundle.pdf",
    "/staff/complaints/{reference}/acknowledgement-for-post.pdf",
    "/staff/consent-reports/report.csv",
    "/staff/pupils/{pupil_id}/scans/{evidence_id}",
    "/staff/news/{post_id}/images/{image_id}",
}
# Pages shown only after a form is sent (a letter's preview, a logged complaint's confirmation):
# no link reaches them, so their journeys measure them at 320 px (test_delegation_journey.py,
# test_logged_complaint.py).
# The consent report's printable pages open from its form (a class and a use chosen): printed,
# not read on a phone, and opened by tests/browser/test_consent_reports.py.
AFTER_A_FORM = {
    "/staff/complaints/{reference}/letter",
    "/staff/complaints/new/done",
    "/staff/consent-reports/print",
    "/staff/consent-reports/request/letters",
}
# The first-run setup page shows only in a portal not set up yet (the open demo portal sends
# everyone elsewhere), so it is measured in an empty portal (tests/browser/empty_portal.py).
SETUP_ONLY = {"/staff/setup", "/staff/setup/school"}
# A page of a kind is measured this many times per person (the case page: every case they see).
# Every demo post's page too: only some have pictures, and so the link to their pupils.
PER_KIND = {"/staff/complaints/{reference}": 100, "/staff/news/{post_id}": 10}
PER_KIND_DEFAULT = 3


def staff_get_routes() -> list[str]:
    paths = set()
    for router in installed(INSTALLED_DOMAINS).routers:
        for route in api_routes(router):
            if "GET" in route.methods and route.path.startswith("/staff"):
                paths.add(route.path)
    return sorted(paths - DOWNLOADS)


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$")


__all__ = ["empty_context", "empty_live_server"]  # fixtures for the first-run pages

ROUTES = staff_get_routes()
PATTERNS = [(path, _pattern(path)) for path in ROUTES]


def route_of(path: str) -> str | None:
    """The route a path belongs to; a fixed path wins over a pattern ("/users/new")."""
    matches = [route for route, pattern in PATTERNS if pattern.match(path)]
    matches.sort(key=lambda route: route.count("{"))
    return matches[0] if matches else None


# The page's scroll width, what sticks out past the right edge of the screen, and the href of
# every link to a staff page (read in the same call: one round trip to the browser per page).
_OVERFLOW_AND_LINKS = """() => {
        const width = document.documentElement.clientWidth;
        const wide = [];
        for (const element of document.querySelectorAll('body *')) {
            const box = element.getBoundingClientRect();
            if (box.right > width + 0.5 && box.width > 0) {
                // A scrolling box holds what overflows it, but not an absolutely placed
                // descendant whose containing block lies outside it.
                let inside = false;
                const placed = ['absolute', 'fixed'].includes(getComputedStyle(element).position);
                for (let up = element.parentElement; up && up !== document.body;
                     up = up.parentElement) {
                    const scrolls = getComputedStyle(up).overflowX;
                    if (['auto', 'scroll', 'hidden'].includes(scrolls)) {
                        inside = !placed && up.getBoundingClientRect().right <= width + 0.5;
                        break;
                    }
                }
                if (!inside) {
                    const classes = typeof element.className === 'string'
                        ? element.className.trim().split(/\\s+/).filter(Boolean) : [];
                    const tag = element.tagName.toLowerCase();
                    const name = [tag + (element.id ? '#' + element.id : ''), ...classes];
                    wide.push(name.join('.') + ' right=' + Math.round(box.right));
                }
            }
        }
        const links = Array.from(
            document.querySelectorAll("a[href^='/staff']:not([download])"),
            (a) => a.getAttribute('href'),
        );
        return [document.documentElement.scrollWidth, wide.slice(0, 8), links];
    }"""


def measure_and_links(page: Page, path: str) -> tuple[list[str], list[str]]:
    """The page as it is now, if wider than the screen: one line saying what sticks out; and the
    links on it to staff pages."""
    width, wide, links = page.evaluate(_OVERFLOW_AND_LINKS)
    if width <= NARROWEST["width"]:
        return [], links
    return [f"{path}: {width} px wide; sticking out: {', '.join(wide)}"], links


def measure(page: Page, path: str) -> list[str]:
    """The page as it is now, if wider than the screen: one line saying what sticks out."""
    return measure_and_links(page, path)[0]


def walk(page: Page, reached: set[str], start: list[str]) -> list[str]:
    """Visit every staff page this person can reach by links from the pages in `start`; add
    each route measured to `reached`; return the pages wider than the screen."""
    too_wide: list[str] = []
    seen_paths: set[str] = set()
    per_route: dict[str, int] = {}
    queue: deque[str] = deque(start)
    while queue:
        path = queue.popleft()
        route = route_of(path)
        if path in seen_paths or route is None:
            continue
        if per_route.get(route, 0) >= PER_KIND.get(route, PER_KIND_DEFAULT):
            continue
        seen_paths.add(path)
        response = page.goto(path)
        if response is None or response.status >= 400:
            continue  # not this person's page (403 or 404): other roles reach it
        if urlsplit(page.url).path != path:
            continue  # sent elsewhere (the setup steps, sign-in): measured where it lands
        per_route[route] = per_route.get(route, 0) + 1
        reached.add(route)
        wide, links = measure_and_links(page, path)
        too_wide += wide
        for href in links:
            target = urlsplit(href).path
            if target not in seen_paths:
                queue.append(target)
    return too_wide


ROLES = [email for _name, email, _roles in DEMO_STAFF[:6]]  # admin, office, head, chair, ...
# The demo school changes none of its wording, so "Back to our default" (the reset page) shows
# only after the test changes one; it puts it back afterwards.
CHANGED_WORDING = "/staff/settings/wording/school-message"


@pytest.mark.long
def test_no_staff_page_scrolls_sideways_at_320_px(new_page: PageMaker) -> None:
    reached: set[str] = set()
    page = new_page(js=True, viewport=NARROWEST)
    page.goto("/staff/login")
    reached.add("/staff/login")
    too_wide = [f"signed out: {line}" for line in measure(page, "/staff/login")]
    # One context for every person in turn: its cookies are cleared before each signs in, so
    # each walks as a fresh browser would (only the static files stay cached).
    for email in ROLES:
        page.context.clear_cookies()
        sign_in(page, email)
        admin = email == ROLES[0]
        if admin:
            page.goto(CHANGED_WORDING)
            page.locator("#body").fill(page.locator("#body").input_value() + "\n\nThank you.")
            with page.expect_navigation():
                page.locator("#save-button").click()
        try:
            start = [CHANGED_WORDING] if admin else []
            start += ["/staff", *[route for route in ROUTES if "{" not in route]]
            too_wide += [f"as {email}: {line}" for line in walk(page, reached, start)]
        finally:
            if admin:
                page.goto(CHANGED_WORDING + "/reset")
                with page.expect_navigation():
                    page.locator("#confirm-reset").click()

    assert too_wide == [], "pages wider than 320 px:\n" + "\n".join(too_wide)
    missing = sorted(set(ROUTES) - reached - SETUP_ONLY - AFTER_A_FORM)
    assert missing == [], "staff pages no demo role reached by a link:\n" + "\n".join(missing)


def test_the_setup_steps_fit_320_px(empty_context: BrowserContext) -> None:
    """The first-run steps exist only in a portal not yet set up."""
    page = empty_context.new_page()
    page.set_viewport_size(NARROWEST)
    page.goto("/staff/login")
    page.get_by_label("Email address").fill(EMPTY_ADMIN)
    page.locator("#password").fill(EMPTY_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/staff/setup")
    reached: set[str] = set()

    too_wide = walk(page, reached, start=["/staff/setup"])

    assert too_wide == [], "pages wider than 320 px:\n" + "\n".join(too_wide)
    assert reached >= SETUP_ONLY
