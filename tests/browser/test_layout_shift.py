"""No layout shift while a parent's page loads on a phone (Lighthouse measured CLS 0.14 before)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MOBILE, PageMaker

RECORD_SHIFTS = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (!entry.hadRecentInput) window.__shifts.push(entry.value);
  }
}).observe({ type: "layout-shift", buffered: true });
"""


@pytest.mark.parametrize("path", ["/", "/complaints/new", "/complaints/new/kind", "/track"])
def test_nothing_moves_while_the_page_loads_at_375px(new_page: PageMaker, path: str) -> None:
    page = new_page(viewport=MOBILE)
    page.add_init_script(RECORD_SHIFTS)
    page.goto(path)
    # The service navigation has run its script: the menu is behind its button.
    expect(page.locator("[data-govuk-service-navigation-init]")).to_have_count(1)
    expect(page.get_by_role("button", name="Menu")).to_be_visible()
    expect(page.locator("#navigation")).to_be_hidden()
    page.wait_for_timeout(300)
    shifts = page.evaluate("window.__shifts")
    assert sum(shifts) < 0.01, f"layout shifts on {path}: {shifts}"


def test_without_javascript_the_menu_is_shown_at_375px(new_page: PageMaker) -> None:
    page = new_page(js=False, viewport=MOBILE)
    page.goto("/")
    expect(page.locator("#navigation")).to_be_visible()
    expect(page.get_by_role("link", name="Check your concern or complaint")).to_be_visible()
