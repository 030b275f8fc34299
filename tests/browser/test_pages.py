"""Every page in a real Chromium, with and without JavaScript: structure, axe-core (WCAG 2.2 AA)
and the journeys people take through the staff pages."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    ADMIN_EMAIL,
    MOBILE,
    SCHOOL_NAME,
    TITLE_SUFFIX,
    PageMaker,
    assert_accessible,
    sign_in,
)

JS_MODES = [pytest.param(True, id="js"), pytest.param(False, id="no-js")]

PUBLIC_PAGES = [
    ("/", 200),
    ("/parents/online", 200),
    ("/policy", 200),
    ("/policy/versions/1", 200),
    ("/accessibility", 200),
    ("/privacy", 200),
    ("/news", 200),
    ("/photos", 200),
    ("/complaints/new", 200),
    ("/track", 200),
    ("/staff/login", 200),
    ("/no-such-page", 404),
]

# (test id, page to open, link to follow from it to reach the page under test, or None)
STAFF_PAGES = [
    ("staff-home", "/staff", None),
    ("users", "/staff/users", None),
    ("user-new", "/staff/users/new", None),
    ("user", "/staff/users", "main table a[href^='/staff/users/']"),
    ("policy", "/staff/policy", None),
    ("policy-new", "/staff/policy/new", None),
    ("outbox", "/staff/outbox", None),
    ("outbox-message", "/staff/outbox", "main table a[href^='/staff/outbox/']"),
]

WRONG_PASSWORD_ACCOUNT = "governor3@brookfield-primary.example"


def assert_page_basics(page: Page, *, first_tab_stop: bool = True) -> None:
    """One h1, a school-suffixed title, a language, and a skip link to the main content that is
    the first thing the Tab key reaches (not checked where a script has already moved focus)."""
    expect(page.locator("h1")).to_have_count(1)
    title = page.title()
    assert title.endswith(TITLE_SUFFIX), f"title {title!r} does not end with {TITLE_SUFFIX!r}"
    assert title.removesuffix(TITLE_SUFFIX).strip(), f"title {title!r} names no page"
    lang = page.locator("html").get_attribute("lang")
    assert lang and lang.strip(), "<html> has no lang attribute"
    skip = page.locator("a.govuk-skip-link")
    expect(skip).to_have_count(1)
    expect(skip).to_have_attribute("href", "#main-content")
    expect(page.locator("#main-content")).to_have_count(1)
    if first_tab_stop:
        page.keyboard.press("Tab")
        expect(skip).to_be_focused()
        expect(skip).to_be_visible()


@pytest.mark.parametrize("js", JS_MODES)
@pytest.mark.parametrize(("path", "status"), PUBLIC_PAGES, ids=[p for p, _s in PUBLIC_PAGES])
def test_public_page(reused_page: PageMaker, path: str, status: int, js: bool) -> None:
    page = reused_page(js=js)
    response = page.goto(path)
    assert response is not None
    assert response.status == status, f"{path} answered {response.status}"
    assert_page_basics(page)
    assert_accessible(page)


@pytest.mark.parametrize(
    ("start", "follow"),
    [(start, follow) for _id, start, follow in STAFF_PAGES],
    ids=[page_id for page_id, _start, _follow in STAFF_PAGES],
)
def test_staff_page_as_admin(
    reused_page: PageMaker, admin_storage_state: object, start: str, follow: str | None
) -> None:
    page = reused_page(js=True, storage_state=admin_storage_state)
    response = page.goto(start)
    assert response is not None and response.ok, f"{start} answered {response and response.status}"
    assert "/staff/login" not in page.url, "the admin's session was not accepted"
    if follow:
        link = page.locator(follow).first
        href = link.get_attribute("href")
        link.click()
        page.wait_for_url(f"**{href}")
    assert_page_basics(page)
    assert_accessible(page)


@pytest.mark.parametrize("js", JS_MODES)
def test_wrong_password_shows_an_error_summary_linked_to_the_field(
    new_page: PageMaker, js: bool
) -> None:
    page = new_page(js=js)
    page.goto("/staff/login")
    page.get_by_label("Email address").fill(WRONG_PASSWORD_ACCOUNT)
    page.locator("#password").fill("not-the-password")
    page.get_by_role("button", name="Sign in", exact=True).click()

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("Enter a correct email address and password")
    expect(page).to_have_title(re.compile(r"^Error: "))
    link = summary.locator("a[href='#email']")
    expect(link).to_have_count(1)
    expect(page.locator("#email")).to_have_value(WRONG_PASSWORD_ACCOUNT)
    expect(page.locator("#password")).to_have_value("")
    expect(page.locator("#email")).to_have_attribute("aria-describedby", re.compile("email-error"))
    if js:
        expect(summary).to_be_focused()
        link.click()
        expect(page.locator("#email")).to_be_focused()
    assert_accessible(page)


@pytest.mark.parametrize("js", JS_MODES)
def test_sign_in_then_sign_out(new_page: PageMaker, js: bool) -> None:
    page = new_page(js=js)
    sign_in(page, ADMIN_EMAIL)
    expect(page.locator("h1")).to_have_text("Hello, Priya Shah")
    expect(page.get_by_role("link", name="Staff portal")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/staff/login?signed_out=1")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "You have signed out."
    )
    assert_accessible(page)

    page.goto("/staff")
    assert "/staff/login" in page.url, "a signed-out browser could still open /staff"


def test_admin_adds_a_staff_account_without_javascript(
    new_page: PageMaker, admin_storage_state: object
) -> None:
    page = new_page(js=False, storage_state=admin_storage_state)
    name = f"Browser Tester {secrets.token_hex(3)}"
    email = f"tester-{secrets.token_hex(3)}@brookfield-primary.example"
    page.goto("/staff/users")
    page.get_by_role("button", name="Add a staff account").click()
    page.wait_for_url("**/staff/users/new")
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password for their first sign-in").fill("a-long-password-for-tests")
    page.get_by_label("Governor", exact=True).check()
    page.get_by_role("button", name="Add account").click()
    page.wait_for_url(re.compile(r"/staff/users/\d+\?created=1$"))
    expect(page.locator("h1")).to_contain_text(name)

    page.goto("/staff/users")
    row = page.locator("main table tbody tr", has_text=email)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("Governor")
    expect(row).to_contain_text("Active")


@pytest.mark.parametrize("js", JS_MODES)
def test_empty_add_user_form_error_page_is_accessible(
    new_page: PageMaker, admin_storage_state: object, js: bool
) -> None:
    page = new_page(js=js, storage_state=admin_storage_state)
    page.goto("/staff/users/new")
    page.get_by_role("button", name="Add account").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Error: Add a staff account"))
    for link in summary.locator("a").all():
        target = link.get_attribute("href") or ""
        assert target.startswith("#"), f"error summary link {target!r} is not to a field"
        expect(page.locator(target)).to_have_count(1)
    assert_page_basics(page, first_tab_stop=not js)
    assert_accessible(page)


def test_mobile_menu_toggle_opens_the_service_navigation(new_page: PageMaker) -> None:
    page = new_page(js=True, viewport=MOBILE)
    page.goto("/")
    toggle = page.locator(".govuk-service-navigation__toggle")
    menu = page.locator("#navigation")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_text("Menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("link", name="Being online")).to_be_visible()
    assert_accessible(page)


def test_mobile_without_javascript_shows_the_menu_and_no_toggle(new_page: PageMaker) -> None:
    page = new_page(js=False, viewport=MOBILE)
    page.goto("/")
    expect(page.locator(".govuk-service-navigation__toggle")).to_be_hidden()
    expect(page.locator("#navigation").get_by_role("link", name="Being online")).to_be_visible()


@pytest.mark.parametrize("js", JS_MODES)
def test_header_is_the_schools_not_gov_uk(reused_page: PageMaker, js: bool) -> None:
    page = reused_page(js=js)
    page.goto("/")
    header = page.locator("header")
    expect(header.locator(".govuk-header__logotype")).to_have_count(0)
    expect(header).not_to_contain_text("GOV.UK")
    expect(header.locator("svg[aria-label='GOV.UK'], .govuk-logo-dot")).to_have_count(0)
    expect(header.get_by_role("link", name=SCHOOL_NAME)).to_be_visible()


@pytest.mark.parametrize("js", JS_MODES)
def test_axe_check_reports_violations(new_page: PageMaker, js: bool) -> None:
    """The harness itself: a page with a known fault must fail assert_accessible, JS on or off."""
    page = new_page(js=js)
    faulty = (
        '<!DOCTYPE html><html lang="en-GB"><head><title>Faulty – test</title></head>'
        '<body><main><h1>Faulty</h1><img src="/crest.svg"></main></body></html>'
    )
    page.route(
        "**/harness-check",
        lambda route: route.fulfill(status=200, content_type="text/html", body=faulty),
    )
    page.goto("/harness-check")
    with pytest.raises(pytest.fail.Exception, match=r"image-alt[\s\S]*<img src=\"/crest.svg\">"):
        assert_accessible(page)
