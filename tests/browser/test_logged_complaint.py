"""Office logs a phone complaint from a parent with no email and prints the acknowledgement
letter for the post, with the parent's private link on it. axe-core checks every page."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import TITLE_SUFFIX, PageMaker, assert_accessible, sign_in
from tests.browser.test_complaints_journey import pdf_text

OFFICE = "office@brookfield-primary.example"
PARENT_NAME = "Rosa Lindqvist"
ADDRESS = "7 Cherry Walk\nBrookfield\nMK40 9ZZ"
WHAT_HAPPENED = "Mrs Lindqvist phoned: the after-school club closed early on Monday with no notice."


def on_page(page: Page, heading: str) -> None:
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_contain_text(heading)
    assert page.title().endswith(TITLE_SUFFIX), page.title()
    assert_accessible(page)


def test_office_logs_a_phone_complaint_with_no_email_and_prints_the_acknowledgement(
    new_page: PageMaker, tmp_path: Path
) -> None:
    office = new_page(js=True)
    sign_in(office, OFFICE)
    office.goto("/staff/complaints")
    on_page(office, "Complaints")
    office.locator("#log-complaint").click()
    office.wait_for_url("**/staff/complaints/new")
    on_page(office, "Log a complaint")

    # Sent with the address missing: the error summary, and nothing typed is lost.
    office.get_by_label("Phone call").check()
    office.locator("#received_on_day").fill("23")
    office.locator("#received_on_month").fill("11")
    office.locator("#received_on_year").fill("2026")
    office.get_by_label("Parent's full name").fill(PARENT_NAME)
    office.get_by_label("A formal complaint (stage 1)").check()
    office.get_by_label("The school in general").check()
    office.get_by_label("Category").select_option(index=1)
    office.get_by_label("What happened", exact=True).fill(WHAT_HAPPENED)
    office.get_by_role("button", name="Log the complaint").click()
    expect(office.locator(".govuk-error-summary")).to_contain_text("postal address")
    assert office.title().startswith("Error: ")
    expect(office.get_by_label("Parent's full name")).to_have_value(PARENT_NAME)
    on_page(office, "Log a complaint")

    office.get_by_label("Postal address").fill(ADDRESS)
    office.get_by_role("button", name="Log the complaint").click()
    office.wait_for_url("**/staff/complaints/new/done")
    on_page(office, "Complaint logged")
    reference = office.locator("#logged-reference").inner_text().strip()
    assert re.fullmatch(r"C-[0-9A-Z]{4}-[0-9A-Z]{3}", reference), reference
    expect(office.locator("#postal-address")).to_contain_text("7 Cherry Walk")
    office.set_viewport_size({"width": 320, "height": 640})
    assert office.evaluate("document.documentElement.scrollWidth") <= 320
    office.set_viewport_size({"width": 1280, "height": 900})

    with office.expect_download() as download:
        office.locator("#print-acknowledgement").click()
    letter = pdf_text(Path(download.value.path()).read_bytes())
    assert reference in letter and "7 Cherry Walk" in letter
    assert re.search(r"/track/[\w-]+", letter), letter

    office.get_by_role("link", name=f"Open case {reference}").click()
    office.wait_for_url(f"**/staff/complaints/{reference}")
    on_page(office, f"Case {reference}")
    expect(office.locator("#received")).to_contain_text(
        "Came by phone, received Monday 23 November 2026 (as the parent said)"
    )
    expect(office.locator("#by-post")).to_contain_text("No email: letters go by post")
    expect(office.locator("#messages")).to_contain_text("Print for post")
