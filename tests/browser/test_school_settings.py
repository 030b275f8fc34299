"""The school settings pages in a real browser: every page passes axe (WCAG 2.2 AA) with and
without JavaScript, the colour error shows its reason, a crest upload shows in the header, and
the first run of an empty portal is walked through and accessible.

The live server's school is shared by the whole browser session: tests here change nothing, or
put back what they changed."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageMaker, assert_accessible
from tests.browser.empty_portal import EMPTY_ADMIN, EMPTY_PASSWORD, empty_context, empty_live_server

__all__ = ["empty_context", "empty_live_server"]

SETTINGS_PAGES = [
    "/staff/settings",
    "/staff/settings/name",
    "/staff/settings/contact",
    "/staff/settings/official-channels",
    "/staff/settings/colour",
    "/staff/settings/crest",
    "/staff/settings/timescales",
    "/staff/settings/categories",
    "/staff/settings/other-procedures/new",
    "/staff/settings/other-procedures/admissions",
    "/staff/settings/letter-paragraphs/new",
    "/staff/settings/letter-paragraphs/1",
    "/staff/setup/school",
    "/staff/setup/timescales",
]


def crest_png() -> bytes:
    """A made-up crest: a purple shield edged in gold, with a gold chevron."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (400, 480), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.polygon([(0, 0), (400, 0), (400, 270), (200, 480), (0, 270)], fill="#f0c000")
    draw.polygon([(20, 20), (380, 20), (380, 260), (200, 460), (20, 260)], fill="#ffffff")
    draw.polygon([(40, 40), (360, 40), (360, 250), (200, 430), (40, 250)], fill="#5b2a86")
    draw.polygon(
        [(40, 300), (200, 140), (360, 300), (360, 240), (200, 80), (40, 240)], fill="#f0c000"
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("path", SETTINGS_PAGES)
def test_settings_page_is_accessible(
    reused_page: PageMaker, admin_storage_state: object, path: str, js: bool
) -> None:
    page = reused_page(js=js, storage_state=admin_storage_state)
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    expect(page.locator("h1")).to_have_count(1)
    assert_accessible(page)


def test_the_overview_links_every_setting(admin_page: Page) -> None:
    admin_page.goto("/staff")
    admin_page.get_by_role("link", name="School settings").first.click()
    admin_page.wait_for_url("**/staff/settings")
    expect(admin_page.get_by_role("link", name="Change school name")).to_be_visible()
    expect(admin_page.get_by_role("link", name="Change term dates")).to_have_attribute(
        "href", "/staff/settings/term-dates"
    )
    expect(admin_page.get_by_role("link", name="Change email and letter wording")).to_be_visible()
    expect(admin_page.get_by_role("heading", name="Changes")).to_be_visible()


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_pale_colour_is_refused_with_its_reason(
    new_page: PageMaker, admin_storage_state: object, js: bool
) -> None:
    page = new_page(js=js, storage_state=admin_storage_state)
    page.goto("/staff/settings/colour")
    page.get_by_label("Colour").fill("#f0c000")
    page.get_by_role("button", name="Save").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("White text on #f0c000 has a contrast of 1.7:1")
    expect(page.get_by_label("Colour")).to_have_value("#f0c000")
    expect(page.locator("img.school-swatch")).to_be_visible()
    assert page.title().startswith("Error: ")
    assert_accessible(page)


def test_a_crest_upload_shows_in_the_header_then_is_removed(admin_page: Page, tmp_path) -> None:
    page = admin_page
    crest = tmp_path / "crest.png"
    crest.write_bytes(crest_png())
    page.goto("/staff/settings/crest")
    page.set_input_files("#crest", str(crest))
    page.get_by_role("button", name="Upload crest").click()
    page.wait_for_url("**/staff/settings")
    header_crest = page.locator(".school-header__crest")
    expect(header_crest).to_have_attribute("src", "/crest/1.png")
    assert page.evaluate("document.querySelector('.school-header__crest').naturalWidth") == 200
    expect(page.get_by_text("Uploaded a new crest")).to_be_visible()
    page.goto("/staff/settings/crest")
    assert_accessible(page)
    page.get_by_role("button", name="Remove the crest").click()
    page.wait_for_url("**/staff/settings")
    expect(page.locator(".school-header__crest")).to_have_attribute("src", "/crest.svg")


def test_a_text_file_called_png_is_refused(admin_page: Page, tmp_path) -> None:
    fake = tmp_path / "crest.png"
    fake.write_text("not a picture")
    admin_page.goto("/staff/settings/crest")
    admin_page.set_input_files("#crest", str(fake))
    admin_page.get_by_role("button", name="Upload crest").click()
    expect(admin_page.locator(".govuk-error-summary")).to_contain_text(
        "The file must be a PNG or JPEG image"
    )
    assert_accessible(admin_page)


def test_the_first_run_of_an_empty_portal(empty_context) -> None:  # type: ignore[no-untyped-def]
    page = empty_context.new_page()
    response = page.goto("/")
    assert response is not None and response.status == 503
    expect(page.locator("h1")).to_have_text("This portal is not open yet")
    assert_accessible(page)

    page.goto("/staff/login")
    page.get_by_label("Email address").fill(EMPTY_ADMIN)
    page.locator("#password").fill(EMPTY_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/staff/setup")
    expect(page.locator("h1")).to_have_text("Set up the portal")
    assert_accessible(page)

    page.get_by_role("link", name="1. The school's name and contact details").click()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the school's name")
    assert_accessible(page)
    page.get_by_label("School name").fill("Oakfield Primary School")
    page.get_by_label("Office email address").fill("office@oakfield.example")
    page.get_by_label("Office phone number").fill("01632 960000")
    page.get_by_label("Postal address").fill("Oak Lane, Oakfield OK1 1AA")
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url("**/staff/setup")
    page.get_by_role("link", name="2. Complaint timescales").click()
    assert_accessible(page)
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url("**/staff/setup")
    expect(page.get_by_role("link", name="3. Term dates for this school year")).to_have_attribute(
        "href", "/staff/settings/term-dates"
    )
    expect(page.get_by_role("button", name="Open the portal to parents")).to_have_count(0)
    assert_accessible(page)
