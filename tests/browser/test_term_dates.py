"""The term dates pages in a real Chromium, with axe-core (WCAG 2.2 AA): the year calendar, the
import preview and a form error. None of them changes the shared live server's dates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageMaker, assert_accessible
from tests.browser.test_pages import JS_MODES, assert_page_basics

BASE = "/staff/settings/term-dates"
COUNCIL_FILE = Path(__file__).parent.parent / "data" / "council-term-dates-2028-29.ics"


def test_the_year_calendar_is_accessible(admin_page: Page) -> None:
    page = admin_page
    response = page.goto(BASE)
    assert response is not None and response.ok
    assert_page_basics(page)
    expect(page.locator("table.school-cal__month caption").first).to_have_text(
        re.compile(r"September \d{4}")
    )
    # Each day says what it is in words, not by its colour alone.
    first_day = page.locator("table.school-cal__month td.school-cal__day").first
    expect(first_day.locator(".govuk-visually-hidden")).to_have_text(re.compile(r"^1: "))
    expect(page.locator("#calendar-key")).to_contain_text("C: closure day")
    assert_accessible(page)


@pytest.mark.parametrize("js", JS_MODES)
def test_the_import_preview_is_accessible(
    new_page: PageMaker, admin_storage_state: object, js: bool
) -> None:
    page = new_page(js=js, storage_state=admin_storage_state)
    page.goto(f"{BASE}/import")
    assert_page_basics(page)
    assert_accessible(page)
    page.goto(f"{BASE}/import")
    page.locator("#file").set_input_files(str(COUNCIL_FILE))
    with page.expect_navigation():
        page.locator("#check").click()
    expect(page.locator(".govuk-error-summary")).to_have_count(0)
    expect(page.locator("h1")).to_have_text("Check the imported term dates")
    expect(page.locator("#replace-question")).to_contain_text(
        "Replace the dates from Monday 4 September 2028 to Friday 20 July 2029 with these?"
    )
    expect(page.locator("#found-terms tbody tr")).to_have_count(6)
    assert_page_basics(page, first_tab_stop=False)
    assert_accessible(page)


@pytest.mark.parametrize("js", JS_MODES)
def test_a_closure_on_a_weekend_shows_the_error_on_its_field(
    new_page: PageMaker, admin_storage_state: object, js: bool
) -> None:
    page = new_page(js=js, storage_state=admin_storage_state)
    page.goto(f"{BASE}/closures/new")
    page.locator("#day_day").fill("28")
    page.locator("#day_month").fill("11")
    page.locator("#day_year").fill("2026")
    page.locator("#reason").fill("INSET")
    page.locator("#save").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Saturday 28 November 2026 is a weekend day")
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(summary.locator("a[href='#day_day']")).to_have_count(1)
    expect(page.locator("#day_day")).to_have_value("28")
    expect(page.locator("#reason")).to_have_value("INSET")
    assert_accessible(page)
