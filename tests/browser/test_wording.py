"""The wording pages in a real Chromium, checked with axe-core: the list, the edit page with a
preview on the sample case, and with a refused template (nothing typed is lost)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible
from tests.browser.test_pages import assert_page_basics


def test_the_list_of_emails_and_letters(admin_page: Page) -> None:
    admin_page.goto("/staff/settings/wording")
    assert_page_basics(admin_page)
    expect(admin_page.locator("h1")).to_have_text("Emails and letters")
    expect(admin_page.locator("#wording-emails tbody tr")).to_have_count(45)
    expect(admin_page.locator("#wording-letters tbody tr")).to_have_count(4)
    assert_accessible(admin_page)


def test_the_edit_page_previews_on_the_sample_case(admin_page: Page) -> None:
    admin_page.goto("/staff/settings/wording")
    admin_page.locator("#wording-complaint-received a").click()
    expect(admin_page.locator("h1")).to_have_text("We have received your concern or complaint")
    assert_page_basics(admin_page)
    assert_accessible(admin_page)
    admin_page.goto("/staff/settings/wording/complaint-received")
    with admin_page.expect_navigation():
        admin_page.locator("#preview-button").click()
    expect(admin_page.locator("#preview-subject")).to_have_text(
        "We have received your complaint (C-7K4P-2QX)"
    )
    expect(admin_page.locator("#preview-body")).to_contain_text("Dear Jordan Ellison,")
    assert_page_basics(admin_page)
    assert_accessible(admin_page)


def test_the_edit_page_with_a_refused_template(admin_page: Page) -> None:
    admin_page.goto("/staff/settings/wording/school-message")
    typed = "Dear {{ recipient_name }},\n\n{{ request.app.state.settings.secret_key }}"
    admin_page.locator("#body").fill(typed)
    with admin_page.expect_navigation():
        admin_page.locator("#save-button").click()
    expect(admin_page.locator(".govuk-error-summary")).to_be_visible()
    expect(admin_page.locator("#body-error")).to_contain_text("line 3")
    expect(admin_page.locator("#body")).to_have_value(typed)
    assert admin_page.title().startswith("Error: ")
    assert_page_basics(admin_page, first_tab_stop=False)
    assert_accessible(admin_page)
