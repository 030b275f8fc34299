"""The school's news in a real browser, axe (WCAG 2.2 AA) on every page:

(a) the office writes a post and sends it; the head approves it; it is public at /news;
(b) a post whose picture shows a pupil whose parents said no to the website is refused, with
    the pupil and the reason in plain words.

The journeys have a portal of their own holding the demo school. With PORTAL_SCREENSHOTS=1 the
news pages are saved as screenshots at 1280 px (docs/screenshots/).
"""

from __future__ import annotations

import io
import os

from PIL import Image
from playwright.sync_api import Page, expect

from portal.config import PROJECT_ROOT
from tests.browser.conftest import assert_accessible, sign_in
from tests.browser.own_portal import own_demo_page, own_demo_server

OFFICE = "office@brookfield-primary.example"
HEAD = "head@brookfield-primary.example"
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
TAKE_SCREENSHOTS = os.environ.get("PORTAL_SCREENSHOTS") == "1"

__all__ = ["own_demo_page", "own_demo_server"]


def checked(page: Page, screenshot: str = "") -> None:
    expect(page.locator("h1")).to_have_count(1)
    assert_accessible(page)
    if screenshot and TAKE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{screenshot}.png"), full_page=True)


def sign_out(page: Page) -> None:
    page.context.clear_cookies()


def write_post(page: Page, title: str) -> None:
    page.goto("/staff/news")
    checked(page, "news-staff-list")
    page.get_by_role("button", name="Write a news post").click()
    checked(page, "news-new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("The post").fill("We had a **lovely** time.\n\nThank you, families.")
    page.get_by_role("button", name="Save the draft").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("saved as a draft")
    checked(page)


def test_office_writes_the_head_approves_and_the_post_is_public(own_demo_page: Page) -> None:
    page = own_demo_page
    sign_in(page, OFFICE)
    write_post(page, "Our new library opens")
    page.get_by_role("button", name="Send for approval").click()
    expect(page.locator("#status")).to_have_text("Waiting for the head's approval")
    checked(page)
    sign_out(page)

    sign_in(page, HEAD)
    page.goto("/staff")
    expect(page.locator("#news-waiting")).to_be_visible()
    page.get_by_role("link", name="Our new library opens").first.click()
    checked(page, "news-post-approve")
    page.get_by_label("Now").check()
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator("#status")).to_have_text("Approved")
    checked(page)
    sign_out(page)

    page.goto("/news")
    checked(page, "news-public-list")
    page.get_by_role("link", name="Our new library opens").click()
    expect(page.locator("h1")).to_have_text("Our new library opens")
    checked(page)
    page.goto("/news/year-3-at-the-city-museum")
    checked(page, "news-public-post")


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2000, 1500), "#88aa55").save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_picture_of_a_pupil_without_consent_is_refused(own_demo_page: Page) -> None:
    page = own_demo_page
    sign_in(page, OFFICE)
    write_post(page, "Reading week")
    page.get_by_role("link", name="Add a picture").click()
    checked(page, "news-images")
    page.get_by_label("Photo").set_input_files(
        {"name": "reading.png", "mimeType": "image/png", "buffer": _png()}
    )
    page.get_by_label("Describe the picture").fill("Children reading on beanbags")
    page.get_by_role("button", name="Add the picture").click()
    checked(page)
    page.get_by_label("Or show a class").select_option("3B")
    page.get_by_role("button", name="Find pupils").click()
    page.get_by_label("Zoë O'Neill, 3B").check()
    page.get_by_role("button", name="Add these pupils").click()
    expect(page.locator("#listed")).to_contain_text("Refused")
    checked(page, "news-pupils")
    page.get_by_label("The pupils above, and the post does not name them").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Send for approval").click()
    expect(page.locator("#status")).to_have_text("Waiting for the head's approval")
    sign_out(page)

    sign_in(page, HEAD)
    page.goto("/staff/news")
    page.locator("#waiting").locator("xpath=following-sibling::ul[1]").get_by_role(
        "link", name="Reading week"
    ).click()
    expect(page.locator("#photo-check-failing")).to_be_visible()
    page.get_by_label("Now").check()
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Zoë O'Neill")
    expect(page.locator("#pupil-checks")).to_contain_text("Refused")
    expect(page.locator("#status")).to_have_text("Waiting for the head's approval")
    checked(page)
    sign_out(page)
    assert page.goto("/news/reading-week").status == 404
