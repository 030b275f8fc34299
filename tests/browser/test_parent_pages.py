"""What a parent meets (issue 8) in a real Chromium: the Start button on a phone's first screen,
every parent page's content inside landmarks (axe `region`), the character counts, the tracking
page's own answers, the anonymous question about the child's name, and the withdrawal."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    _NO_JS_PAGES,
    MOBILE,
    PageMaker,
    _mirror_for,
    assert_accessible,
)
from tests.browser.test_complaint_pages import check_errors, check_page, continue_

JS_MODES = [pytest.param(True, id="js"), pytest.param(False, id="no-js")]
WORDS = 'He said "it\'s fine" & left.\nThen <b>nothing</b> happened.\n\nA second paragraph.'
_axe = Axe()


def assert_in_landmarks(page: Page) -> None:
    """axe's `region` rule (a best practice, not in the WCAG tags the suite runs): every part
    of the page is inside a landmark."""
    checked, where = page, page.url
    if page in _NO_JS_PAGES:  # axe waits on timers, which never fire without JavaScript
        mirror = _mirror_for(page.context.browser)
        mirror.url, mirror.html = page.url.split("#", 1)[0], page.content()
        mirror.page.goto(mirror.url)
        checked, where = mirror.page, f"{page.url} (without JavaScript)"
    results = _axe.run(checked, options={"runOnly": {"type": "rule", "values": ["region"]}})
    nodes = [
        node["html"][:200]
        for violation in results.response["violations"]
        for node in violation["nodes"]
    ]
    assert not nodes, f"outside any landmark on {where}:\n" + "\n".join(nodes)


def fill_to_contact(page: Page, *, what_happened: str = WORDS) -> None:
    page.goto("/complaints/new/kind")
    page.get_by_label("A formal complaint").check()
    continue_(page)
    page.get_by_label("The school in general").check()
    continue_(page)
    page.get_by_label("Food and lunchtimes").check()
    continue_(page)
    page.get_by_label("What happened?").fill(what_happened)
    continue_(page)
    continue_(page)
    continue_(page)
    continue_(page)
    page.wait_for_url("**/complaints/new/contact")


def test_the_start_button_is_on_a_phones_first_screen(new_page: PageMaker) -> None:
    page = new_page(js=True, viewport=MOBILE)
    page.goto("/complaints/new")
    start = page.get_by_role("button", name="Start now")
    box = start.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= MOBILE["height"], (
        f"the Start button ends {box['y'] + box['height']:.0f} px down, below the first "
        f"{MOBILE['height']} px at {MOBILE['width']} px wide"
    )
    check_page(page, "Raise a concern or make a complaint")


@pytest.mark.parametrize("js", JS_MODES)
def test_every_parent_page_is_inside_landmarks(new_page: PageMaker, js: bool) -> None:
    page = new_page(js=js)
    for path in ("/", "/parents/online", "/policy", "/accessibility", "/privacy", "/track"):
        page.goto(path)
        assert_in_landmarks(page)
    page.goto("/complaints/new")
    assert_in_landmarks(page)
    page.goto("/complaints/new/kind")
    assert_in_landmarks(page)
    expect(page.locator("main .govuk-back-link")).to_have_count(1)
    expect(page.locator("header .govuk-phase-banner")).to_have_count(1)
    fill_to_contact(page)
    assert_in_landmarks(page)
    page.get_by_label("Full name").fill("Leah Norris")
    page.get_by_label("Email address").fill("leah.norris@example.com")
    continue_(page)
    page.wait_for_url("**/complaints/new/check")
    assert_in_landmarks(page)
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url("**/complaints/new/done")
    assert_in_landmarks(page)
    page.locator("#private-link").click()
    page.wait_for_url(re.compile(r"/track/[\w-]+$"))
    assert_in_landmarks(page)
    page.get_by_role("button", name="Withdraw your complaint").click()
    page.wait_for_url("**/withdraw")
    assert_in_landmarks(page)


def test_the_character_count_counts_as_the_parent_types(new_page: PageMaker) -> None:
    page = new_page(js=True)
    fill_to_contact(page)
    page.goto("/complaints/new/what-happened")
    status = page.locator(".govuk-character-count__status")
    expect(status).to_have_text(f"You have {10_000 - len(WORDS):,} characters remaining")
    page.get_by_label("What happened?").fill("a" * 10_001)
    expect(status).to_have_text("You have 1 character too many")
    continue_(page)
    check_errors(
        page,
        "What happened?",
        {"what_happened": "What happened must be 10,000 characters or fewer"},
        js=True,
    )


def test_without_javascript_the_limit_is_the_hint(new_page: PageMaker) -> None:
    page = new_page(js=False)
    fill_to_contact(page)
    page.goto("/complaints/new/put-right")
    expect(page.locator("#put_right-info")).to_have_text("You can enter up to 10,000 characters")
    check_page(page, "What would put it right? (optional)")


@pytest.mark.parametrize("js", JS_MODES)
def test_the_anonymous_path_asks_about_the_childs_name(new_page: PageMaker, js: bool) -> None:
    page = new_page(js=js)
    fill_to_contact(page)
    page.get_by_label("Your child's name (optional)").fill("Alex Norris")
    page.get_by_label("I want to stay anonymous").check()
    continue_(page)
    check_errors(
        page,
        "Your contact details",
        {
            "anonymous_child": "Select whether we should keep your child's name, or leave their "
            "name empty"
        },
        js=js,
    )
    page.get_by_label("No, do not keep my child's name").check()
    continue_(page)
    page.wait_for_url("**/complaints/new/check")
    expect(page.locator("main")).not_to_contain_text("Alex Norris")
    check_page(page, "Check your answers before sending")


@pytest.mark.parametrize("js", JS_MODES)
def test_the_parent_rereads_what_they_sent_and_withdraws(new_page: PageMaker, js: bool) -> None:
    page = new_page(js=js, viewport=MOBILE)
    fill_to_contact(page)
    page.get_by_label("Full name").fill("Leah Norris")
    page.get_by_label("Email address").fill("leah.norris@example.com")
    continue_(page)
    page.wait_for_url("**/complaints/new/check")
    shown = page.locator(".govuk-summary-list__value .school-pre").first
    expect(shown).to_have_text(WORDS, use_inner_text=True)
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url("**/complaints/new/done")
    reference = page.locator(".govuk-panel__body strong").inner_text().strip()
    page.locator("#private-link").click()
    page.wait_for_url(re.compile(r"/track/[\w-]+$"))

    answers = page.locator("#your-answers")
    expect(answers).to_be_hidden()  # collapsed, one line on a phone
    page.get_by_text("Show your answers and files").click()
    expect(answers).to_be_visible()
    expect(answers.locator(".school-pre").first).to_have_text(WORDS, use_inner_text=True)
    check_page(page, f"Your complaint {reference}", focus_moved=True)  # on the summary

    page.get_by_role("button", name="Withdraw your complaint").click()
    page.wait_for_url("**/withdraw")
    expect(page.locator("#reason-info")).to_have_count(1)
    check_page(page, "Are you sure you want to withdraw your complaint?")
    page.get_by_role("button", name="Yes, withdraw it").click()
    page.wait_for_url("**?withdrawn=1")
    banner = page.locator(".govuk-notification-banner")
    expect(banner).to_contain_text("You have withdrawn your complaint. We have stopped looking")
    expect(page.locator("main")).to_contain_text("This is our written confirmation.")
    expect(page.locator("main")).not_to_contain_text("The parent withdrew")
    assert_accessible(page)
