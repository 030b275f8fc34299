"""The consent reports in a real Chromium, checked with axe-core: the report for a year group,
its printable version under print media (no header, menu or footer; each class on its own
page), the request's preview and letters-home list, and sending it. With PORTAL_SCREENSHOTS=1
they also take the screenshots in docs/screenshots."""

from __future__ import annotations

import os

from playwright.sync_api import Page, expect

from portal.config import PROJECT_ROOT
from tests.browser.conftest import PageMaker, assert_accessible, sign_in
from tests.browser.test_pages import assert_page_basics

OFFICE = "office@brookfield-primary.example"
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
TAKE = os.environ.get("PORTAL_SCREENSHOTS") == "1"


def _shot(page: Page, name: str) -> None:
    if TAKE:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / name, full_page=True, animations="disabled")


def _office(new_page: PageMaker, *, js: bool = True) -> Page:
    page = new_page(js=js)
    sign_in(page, OFFICE)
    return page


def test_the_report_for_a_year_group(new_page: PageMaker) -> None:
    page = _office(new_page, js=False)
    page.goto("/staff/consent-reports")
    page.locator("#group").select_option("year:Year 3")
    page.locator("#purpose").select_option("website")
    page.locator("#show").click()
    expect(page.locator("#report-title")).to_have_text("Year 3: School website")
    expect(page.locator("section.school-report-class")).to_have_count(1)
    expect(page.locator("table.may-not")).to_contain_text("Restricted")
    assert_page_basics(page, first_tab_stop=False)
    assert_accessible(page)
    _shot(page, "consent-report-1280.png")


def test_the_printable_report_prints_each_class_on_its_own_page(new_page: PageMaker) -> None:
    page = _office(new_page)
    page.goto("/staff/consent-reports/print?group=year%3AYear+4&purpose=social_media")
    assert_page_basics(page)
    assert_accessible(page)
    expect(page.locator("nav")).to_have_count(0)
    page.emulate_media(media="print")
    for hidden in (".govuk-header", ".govuk-footer", ".govuk-phase-banner", ".govuk-back-link"):
        expect(page.locator(hidden).first).to_be_hidden()
    breaks = page.eval_on_selector_all(
        "section.school-print-page", "all => all.map(s => getComputedStyle(s).breakAfter)"
    )
    assert breaks == ["page"] or breaks[:-1] == ["page"] * (len(breaks) - 1)
    _shot(page, "consent-report-print.png")


def test_the_request_preview_the_letters_list_and_sending(new_page: PageMaker) -> None:
    page = _office(new_page)
    page.goto("/staff/consent-reports/request")
    assert_page_basics(page)
    assert_accessible(page)
    page.goto("/staff/consent-reports/request")
    page.locator("#group").select_option("year:Year 3")
    page.locator("label", has_text="School website").click()
    page.locator("label", has_text="Video").click()
    expect(page.locator("input[name=purpose]:checked")).to_have_count(2)
    page.locator("#preview-button").click()
    expect(page.locator("#preview")).to_contain_text("Year 3")
    expect(page.locator("#families tbody tr")).not_to_have_count(0)
    _shot(page, "consent-request-preview-1280.png")
    assert_page_basics(page)
    assert_accessible(page)
    page.locator("#letters-link").click()
    expect(page.locator("h1")).to_have_text("Letters home: Year 3")
    assert_page_basics(page)
    assert_accessible(page)
    page.go_back()
    page.locator("#send-button").click()
    expect(page.locator("#done")).to_contain_text("Request sent: Year 3")
    assert_page_basics(page)
    assert_accessible(page)
    page.goto("/staff/consent-reports")
    expect(page.locator("#sent tbody tr").first).to_contain_text("Year 3")
