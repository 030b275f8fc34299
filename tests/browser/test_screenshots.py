"""Full-page screenshots for docs/screenshots, taken only when PORTAL_SCREENSHOTS=1
(`make screenshots`), so an ordinary test run never rewrites the committed images.

Look at every image before committing it: a screenshot is evidence only if the page looks right.
"""

from __future__ import annotations

import os

import pytest

from portal.config import PROJECT_ROOT
from tests.browser.conftest import DESKTOP, MOBILE, PageMaker

pytestmark = pytest.mark.skipif(
    os.environ.get("PORTAL_SCREENSHOTS") != "1",
    reason="screenshots are taken only with PORTAL_SCREENSHOTS=1 (make screenshots)",
)

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
