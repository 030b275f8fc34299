"""Comments on the school's news in a real browser, axe (WCAG 2.2 AA) on every page:

(a) a parent on the register asks for a link from a demo post, signs in and writes a comment
    naming a pupil; it is not shown (nor counted) until the office moderator, who sees the name
    marked with the rule in words, approves it with the name removed; the parent then sees
    "[name removed]" in its place;
(b) a comment that sounds like a complaint is offered the complaints form with its words; the
    form shows them; going back and posting it anyway holds it for a moderator;
(c) the Atom feed and the news pages never hold the words of a comment still waiting.

They run on the shared live portal (the demo school and its demo posts), each with a parent of
its own so the consent journeys' parents get no extra emails.
"""

from __future__ import annotations

import os
import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from portal.config import PROJECT_ROOT
from tests.browser.conftest import (
    DESKTOP,
    TITLE_SUFFIX,
    LiveServer,
    PageMaker,
    assert_accessible,
    sign_in,
)
from tests.browser.test_consent_parents import link_from_email

POST = "/news/year-3-at-the-city-museum"
DEMO_POST = "/news/sports-day-a-sunny-afternoon-of-races"  # the demo comments' post
OFFICE = "office@brookfield-primary.example"
ROISIN = "roisin.oneill@example.com"  # Zoë O'Neill's mother, 3B
KATE = "kate.brown@example.com"  # Oliver Brown's foster carer, 3B
NAMING = "The museum trip sounded brilliant. Maya Patel told us all about the helmets."
COMPLAINT = "I want to complain: nobody listens about the bullying in my son's class"
WAITING_WORDS = "Waiting words about the car park from a test parent"
NISHA = "nisha.patel@example.com"  # Maya Patel's mother, 3B
PHONE_WIDE = {"width": 390, "height": 844}
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"


def on_page(page: Page, heading: str) -> None:
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_have_text(heading)
    expect(page).to_have_title(heading + TITLE_SUFFIX)
    assert_accessible(page)


def comment_count(page: Page) -> int:
    text = page.locator("#comments-heading").inner_text()
    found = re.match(r"(\d+) comments?", text)
    assert found, text
    return int(found.group(1))


def sign_in_from_post(page: Page, database_url: str, address: str, *, post: str = POST) -> None:
    """Ask for a link from the post's comment box, open it as from the email, and come back."""
    page.goto(post)
    assert_accessible(page)
    comments = page.locator("#comments")
    comments.get_by_label("Email address").fill(address)
    comments.get_by_role("button", name="Email me a link").click()
    on_page(page, "Check your email")
    expect(page.locator("#sent-to")).to_contain_text(address)
    page.goto(link_from_email(database_url, address))
    on_page(page, "Sign in to comment")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"**{post}/comment")
    expect(page.locator("h1")).to_contain_text("Comment on")
    assert_accessible(page)


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True, animations="disabled")


@pytest.mark.skipif(
    os.environ.get("PORTAL_SCREENSHOTS") != "1",
    reason="screenshots are taken only with PORTAL_SCREENSHOTS=1 (make screenshots)",
)
def test_screenshot_comments_and_moderation(new_page: PageMaker, live_database_url: str) -> None:
    """First in this file, so the demo comments are as the demo made them."""
    office = new_page(js=True, viewport=DESKTOP)
    sign_in(office, OFFICE)
    office.goto("/staff/moderation")
    on_page(office, "Comments waiting")
    shot(office, "moderation-queue-1280")
    card = office.locator(".govuk-summary-card").filter(has_text="had a great time")
    card.get_by_role("link", name=re.compile("^Open")).click()
    expect(office.locator("#flags")).to_be_visible()
    assert_accessible(office)
    shot(office, "moderation-comment-1280")
    office.locator("#redact-link").click()
    on_page(office, "Choose what to remove")
    shot(office, "moderation-redact-1280")
    office.goto("/staff/moderation/words")
    office.get_by_label("Text to test").fill(
        "Ollie Brown was brilliant. Ring me on 07700 900456 if you have the photos."
    )
    office.get_by_role("button", name="Test", exact=True).click()
    expect(office.locator("#test-result")).to_be_visible()
    assert_accessible(office)
    shot(office, "moderation-words-1280")
    office.goto("/staff/moderation/external")
    on_page(office, "Comments on social media")
    shot(office, "moderation-external-1280")

    parent = new_page(js=True, viewport=DESKTOP)
    sign_in_from_post(parent, live_database_url, NISHA, post=DEMO_POST)
    parent.goto(DEMO_POST)
    expect(parent.locator("#comments .app-comment").first).to_be_visible()
    expect(parent.get_by_label("Your comment", exact=True)).to_be_visible()
    assert_accessible(parent)
    shot(parent, "news-comments-1280")
    parent.set_viewport_size(PHONE_WIDE)
    assert parent.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDE["width"]
    assert_accessible(parent)
    shot(parent, "news-comments-390")


def test_a_named_pupil_is_held_and_published_with_the_name_removed(
    new_page: PageMaker, live_database_url: str
) -> None:
    # --- the parent signs in from the post and writes a comment naming a pupil --------------
    parent = new_page(js=True)
    parent.goto(POST)
    before = comment_count(parent)
    sign_in_from_post(parent, live_database_url, ROISIN)
    parent.get_by_label("Your comment", exact=True).fill(NAMING)
    parent.get_by_role("button", name="Send comment").click()
    parent.wait_for_url(f"**{POST}/comment/sent")
    expect(parent.locator("h1")).to_have_count(1)
    assert_accessible(parent)

    # --- the post does not show it, and the count has not changed ---------------------------
    parent.goto(POST)
    expect(parent.locator("#comments")).not_to_contain_text("Maya Patel told us")
    assert comment_count(parent) == before
    assert_accessible(parent)

    # --- the office moderator sees it with the name marked, and approves it redacted --------
    office = new_page(js=True)
    sign_in(office, OFFICE)
    office.goto("/staff/moderation")
    on_page(office, "Comments waiting")
    card = office.locator(".govuk-summary-card").filter(has_text="told us all about the helmets")
    expect(card).to_have_count(1)
    mark = card.locator("mark.app-flag", has_text="Maya Patel")
    expect(mark).to_have_count(1)
    expect(mark).to_have_attribute("data-rule", "pupil_name")
    expect(mark.locator("xpath=following-sibling::strong[1]")).to_have_text(
        re.compile(r"pupil", re.IGNORECASE)
    )
    card.get_by_role("link", name=re.compile("^Open")).click()
    expect(office.locator("h1")).to_contain_text("Comment by")
    assert_accessible(office)
    expect(office.locator("#words mark.app-flag")).to_have_text("Maya Patel")
    expect(office.locator("#flags")).to_contain_text("Maya Patel")
    office.locator("#redact-link").click()
    on_page(office, "Choose what to remove")
    expect(office.get_by_label("“Maya Patel”")).to_be_checked()
    expect(office.locator("#preview")).to_contain_text("[name removed] told us")
    office.get_by_role("button", name="Approve and publish").click()
    office.wait_for_url("**/staff/moderation?done=1*")
    expect(office.locator("#decided")).to_contain_text("1 decided")
    assert_accessible(office)
    expect(office.locator("main")).not_to_contain_text("told us all about the helmets")

    # --- the parent reloads the post: the comment is there, the name is not ----------------
    parent.goto(POST)
    comments = parent.locator("#comments")
    expect(comments).to_contain_text("[name removed] told us all about the helmets")
    expect(comments).not_to_contain_text("Maya Patel")
    assert comment_count(parent) == before + 1
    assert_accessible(parent)


def test_a_complaint_like_comment_is_offered_the_complaints_form(
    new_page: PageMaker, live_database_url: str
) -> None:
    parent = new_page(js=True)
    sign_in_from_post(parent, live_database_url, KATE)
    parent.get_by_label("Your comment", exact=True).fill(COMPLAINT)
    parent.get_by_role("button", name="Send comment").click()
    on_page(parent, "Is this a concern or complaint?")
    expect(parent.locator("#your-words")).to_contain_text(COMPLAINT)

    # --- following the offer: the complaint form, with the words waiting for them -----------
    parent.get_by_role("button", name="Use the complaints form").click()
    parent.wait_for_url("**/complaints/new/kind")
    on_page(parent, "Is this a concern or a formal complaint?")
    parent.get_by_label("A concern", exact=True).check()
    parent.get_by_role("button", name="Continue", exact=True).click()
    parent.wait_for_url("**/complaints/new/about")
    parent.get_by_label("The school in general").check()
    parent.get_by_role("button", name="Continue", exact=True).click()
    parent.wait_for_url("**/complaints/new/category")
    parent.get_by_label("Behaviour and bullying").check()
    parent.get_by_role("button", name="Continue", exact=True).click()
    parent.wait_for_url("**/complaints/new/what-happened")
    on_page(parent, "What happened?")
    expect(parent.get_by_label("What happened?")).to_have_value(COMPLAINT)

    # --- back to the post (the offer was the answer to a form, which a browser's Back does not
    # send again): the same words are offered the form again, and "post anyway" holds them ---
    parent.goto(POST + "/comment")
    parent.get_by_label("Your comment", exact=True).fill(COMPLAINT)
    parent.get_by_role("button", name="Send comment").click()
    on_page(parent, "Is this a concern or complaint?")
    parent.get_by_role("button", name="Post my comment anyway").click()
    parent.wait_for_url(f"**{POST}/comment/sent")
    assert_accessible(parent)
    parent.goto(POST)
    expect(parent.locator("#comments")).not_to_contain_text("nobody listens about the bullying")

    office = new_page(js=True)
    sign_in(office, OFFICE)
    office.goto("/staff/moderation")
    card = office.locator(".govuk-summary-card").filter(has_text="bullying in my son")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Posted after being offered the complaints form")
    expect(card.locator("mark.app-flag")).not_to_have_count(0)


def test_the_feed_and_the_news_never_hold_waiting_comments(
    new_page: PageMaker, live_server: LiveServer, live_database_url: str
) -> None:
    parent = new_page(js=False)
    sign_in_from_post(parent, live_database_url, "amira.hassan@example.com")
    parent.get_by_label("Your comment", exact=True).fill(WAITING_WORDS)
    parent.get_by_role("button", name="Send comment").click()
    parent.wait_for_url(f"**{POST}/comment/sent")

    with httpx.Client(base_url=live_server.url) as client:
        pages = {
            path: client.get(path) for path in ("/news", "/news/feed.atom", POST, DEMO_POST, "/")
        }
    for path, response in pages.items():
        assert WAITING_WORDS not in response.text, path
        # nor any demo comment still waiting (a pupil's name, a phone number)
        assert "Text me on 07700 900123" not in response.text, path
        assert "Millie Jones and Ibrahim Hassan had a great time" not in response.text, path
    assert all(response.status_code == 200 for response in pages.values())
