"""Full-page screenshots for docs/screenshots, taken only when PORTAL_SCREENSHOTS=1
(`make screenshots`), so an ordinary test run never rewrites the committed images.

Look at every image before committing it: a screenshot is evidence only if the page looks right.
"""

from __future__ import annotations

import os

import pytest

from portal.config import PROJECT_ROOT
from tests.browser.conftest import DESKTOP, MOBILE, PageMaker
from tests.browser.empty_portal import empty_context, empty_live_server

pytestmark = pytest.mark.skipif(
    os.environ.get("PORTAL_SCREENSHOTS") != "1",
    reason="screenshots are taken only with PORTAL_SCREENSHOTS=1 (make screenshots)",
)

__all__ = ["empty_context", "empty_live_server"]  # fixtures for the first-run screenshots

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"

PUBLIC = [("home", "/"), ("parents-online", "/parents/online"), ("staff-login", "/staff/login")]


def _shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True, animations="disabled")


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["1280", "375"])
@pytest.mark.parametrize(("name", "path"), PUBLIC, ids=[name for name, _path in PUBLIC])
def test_screenshot_public_page(
    new_page: PageMaker, name: str, path: str, viewport: dict[str, int]
) -> None:
    page = new_page(js=True, viewport=viewport)
    response = page.goto(path)
    assert response is not None and response.ok
    _shoot(page, name)


def test_screenshot_staff_users(new_page: PageMaker, admin_storage_state: object) -> None:
    page = new_page(js=True, viewport=DESKTOP, storage_state=admin_storage_state)
    response = page.goto("/staff/users")
    assert response is not None and response.ok
    assert "/staff/login" not in page.url
    _shoot(page, "staff-users")


def test_screenshot_held_case(new_page: PageMaker) -> None:
    """Office finds a submission held as possible junk and can release it (axe-clean too)."""
    from tests.browser.conftest import assert_accessible, sign_in

    page = new_page(js=True, viewport=DESKTOP)
    sign_in(page, "office@brookfield-primary.example")
    page.goto("/staff/complaints?status=held")
    page.locator("main a[href^='/staff/complaints/C-']").first.click()
    page.wait_for_selector("#release")
    assert_accessible(page)
    _shoot(page, "complaint-held")


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["1280", "375"])
def test_screenshot_term_dates(
    new_page: PageMaker, admin_storage_state: object, viewport: dict[str, int]
) -> None:
    page = new_page(js=True, viewport=viewport, storage_state=admin_storage_state)
    response = page.goto("/staff/settings/term-dates")
    assert response is not None and response.ok
    _shoot(page, "term-dates")


def test_screenshot_term_dates_import_preview(
    new_page: PageMaker, admin_storage_state: object
) -> None:
    page = new_page(js=True, viewport=DESKTOP, storage_state=admin_storage_state)
    page.goto("/staff/settings/term-dates/import")
    page.locator("#file").set_input_files(
        str(PROJECT_ROOT / "tests" / "data" / "council-term-dates-2028-29.ics")
    )
    page.locator("#check").click()
    page.wait_for_selector("#replace-question")
    _shoot(page, "term-dates-import-preview")


# --- the school settings ------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["1280", "375"])
def test_screenshot_school_settings(
    new_page: PageMaker, admin_storage_state: object, viewport: dict[str, int]
) -> None:
    page = new_page(js=True, viewport=viewport, storage_state=admin_storage_state)
    response = page.goto("/staff/settings")
    assert response is not None and response.ok
    _shoot(page, "school-settings")


def test_screenshot_school_colour_refused(new_page: PageMaker, admin_storage_state: object) -> None:
    page = new_page(js=True, viewport=DESKTOP, storage_state=admin_storage_state)
    page.goto("/staff/settings/colour")
    page.get_by_label("Colour").fill("#f0c000")
    page.get_by_role("button", name="Save").click()
    page.wait_for_selector(".govuk-error-summary")
    _shoot(page, "school-colour-refused")


def test_screenshot_school_crest(
    new_page: PageMaker, admin_storage_state: object, tmp_path
) -> None:
    """The crest page with an uploaded crest, also in the header; the crest is removed after."""
    from tests.browser.test_school_settings import crest_png

    page = new_page(js=True, viewport=DESKTOP, storage_state=admin_storage_state)
    crest = tmp_path / "crest.png"
    crest.write_bytes(crest_png())
    page.goto("/staff/settings/crest")
    page.set_input_files("#crest", str(crest))
    page.get_by_role("button", name="Upload crest").click()
    page.wait_for_url("**/staff/settings")
    page.goto("/staff/settings/crest")
    page.wait_for_function("document.querySelector('.school-header__crest').complete")
    try:
        _shoot(page, "school-crest")
    finally:
        page.get_by_role("button", name="Remove the crest").click()
        page.wait_for_url("**/staff/settings")


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["1280", "375"])
def test_screenshot_school_setup(empty_context, viewport: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    """The first run of an empty portal: what parents see, and the admin's setup steps."""
    from tests.browser.empty_portal import EMPTY_ADMIN, EMPTY_PASSWORD

    page = empty_context.new_page()
    page.set_viewport_size(viewport)
    page.goto("/")
    _shoot(page, "not-open-yet")
    page.goto("/staff/login")
    page.get_by_label("Email address").fill(EMPTY_ADMIN)
    page.locator("#password").fill(EMPTY_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/staff/setup")
    _shoot(page, "school-setup")


def test_screenshot_wording(new_page: PageMaker, admin_storage_state: object) -> None:
    """The list of emails and letters, and one email's edit page showing its preview."""
    page = new_page(js=True, viewport=DESKTOP, storage_state=admin_storage_state)
    response = page.goto("/staff/settings/wording")
    assert response is not None and response.ok
    _shoot(page, "wording-list")
    page.goto("/staff/settings/wording/complaint-received")
    page.locator("#preview-button").click()
    page.wait_for_selector("#preview-body")
    _shoot(page, "wording-edit-preview")
