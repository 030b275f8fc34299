"""The Complaints Procedure's pages in a real Chromium: every parent page and its error states, with
and without JavaScript (one h1, a title that matches it, axe-core WCAG 2.2 AA), the staff queue and
case pages, who may see a case about the head teacher, and (with PORTAL_SCREENSHOTS=1) the
screenshots in docs/screenshots."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlmodel import Session

from portal.complaints.models import Complaint
from portal.config import PROJECT_ROOT
from portal.db import make_engine
from tests.browser.conftest import (
    DESKTOP,
    MOBILE,
    TITLE_SUFFIX,
    LiveServer,
    PageMaker,
    assert_accessible,
    sign_in,
)
from tests.clocks import TEST_NOW

JS_MODES = [pytest.param(True, id="js"), pytest.param(False, id="no-js")]
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"

OFFICE = "office@brookfield-primary.example"
HEAD = "head@brookfield-primary.example"
CHAIR = "chair@brookfield-primary.example"
ABOUT_HEAD_PARENT = "Rachel Green"  # the demo case about the head teacher
WITH_FILE_PARENT = "Marcus Bell"  # the demo stage 1 case with a file and an internal note
ANSWERED_PARENT = ("Gareth Owens", "gareth.owens@example.com")  # demo case with a stage 1 letter
PDF_BYTES = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


# ---------------------------------------------------------------- helpers


def check_page(page: Page, heading: str, *, error: bool = False, focus_moved: bool = False) -> None:
    """One h1 with this text, a title of the same words (after "Error: " on an error page),
    the skip link as the first Tab stop (unless a script moved focus), and no axe violations."""
    h1 = page.locator("h1")
    expect(h1).to_have_count(1)
    expect(h1).to_have_text(heading)
    expected_title = ("Error: " if error else "") + heading + TITLE_SUFFIX
    expect(page).to_have_title(expected_title)
    skip = page.locator("a.govuk-skip-link")
    expect(skip).to_have_attribute("href", "#main-content")
    if not focus_moved:
        page.keyboard.press("Tab")
        expect(skip).to_be_focused()
        # A focused skip link pushes the page down; it hides again on the next click, which
        # would move the page under the pointer between mouse down and up.
        skip.blur()
    assert_accessible(page)


def check_errors(page: Page, heading: str, messages: dict[str, str], *, js: bool) -> None:
    """An error summary listing these messages, each linked to its field, the field marked,
    and the page passing the checks above. With JavaScript the summary takes focus."""
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("There is a problem")
    links = summary.locator("a")
    expect(links).to_have_count(len(messages))
    for field_id, message in messages.items():
        link = summary.locator(f"a[href='#{field_id}']")
        expect(link).to_have_text(message)
        expect(page.locator(f"#{field_id}")).to_have_count(1)
        marked = "ancestor-or-self::*[contains(@aria-describedby, '-error')]"
        described = page.locator(f"xpath=//*[@id='{field_id}']/{marked}")
        expect(described).to_have_count(1)
        expect(page.locator(".govuk-error-message", has_text=message)).to_have_count(1)
    if js:
        expect(summary).to_be_focused()
    check_page(page, heading, error=True, focus_moved=js)
    if js:
        first = next(iter(messages))
        links.first.click()
        expect(page.locator(f"#{first}")).to_be_focused()


def continue_(page: Page) -> None:
    page.get_by_role("button", name="Continue", exact=True).click()


def demo_reference(live_server: LiveServer, parent_name: str) -> str:
    """The reference of a demo case, read from the live server's database."""
    engine = make_engine(live_server.settings.database_url)
    try:
        with Session(engine) as session:
            return session.scalars(
                select(Complaint.reference).where(Complaint.parent_name == parent_name)
            ).one()
    finally:
        engine.dispose()


StaffPage = Callable[[str], Page]


@pytest.fixture(scope="session")
def staff_states() -> dict[str, Any]:
    """Cookies of demo staff who have signed in once this session, by email address."""
    return {}


@pytest.fixture
def staff_page(
    new_page: PageMaker, browser: Browser, live_server: LiveServer, staff_states: dict[str, Any]
) -> StaffPage:
    """`staff_page(email)`: a page (JavaScript on, 1280 wide) signed in as that demo person."""

    def make(email: str) -> Page:
        if email not in staff_states:
            context = browser.new_context(base_url=live_server.url)
            try:
                sign_in(context.new_page(), email)
                staff_states[email] = context.storage_state()
            finally:
                context.close()
        return new_page(js=True, storage_state=staff_states[email])

    return make


# ---------------------------------------------------------------- screenshots


@pytest.mark.skipif(
    os.environ.get("PORTAL_SCREENSHOTS") != "1",
    reason="screenshots are taken only with PORTAL_SCREENSHOTS=1 (make screenshots)",
)
def test_screenshots_of_the_complaint_pages(
    new_page: PageMaker, staff_page: StaffPage, live_server: LiveServer, tmp_path: Path
) -> None:
    """Staff pages first, before this test adds a case to the queue."""

    def shoot(page: Page, name: str, *, mobile: bool = True) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for viewport in [DESKTOP, MOBILE] if mobile else [DESKTOP]:
            page.set_viewport_size(viewport)
            page.evaluate("document.fonts.ready.then(() => true)")
            width = viewport["width"]
            page.screenshot(
                path=SCREENSHOTS / f"{name}-{width}.png", full_page=True, animations="disabled"
            )
        page.set_viewport_size(DESKTOP)

    office = staff_page(OFFICE)
    office.goto("/staff/complaints")
    shoot(office, "complaint-queue", mobile=False)
    office.goto(f"/staff/complaints/{demo_reference(live_server, WITH_FILE_PARENT)}")
    shoot(office, "complaint-case", mobile=False)

    parent = new_page(js=True)
    parent.goto("/complaints/new")
    shoot(parent, "complaint-start")
    parent.goto("/complaints/new/kind")
    shoot(parent, "complaint-question")
    parent.get_by_label("A formal complaint").check()
    continue_(parent)
    parent.get_by_label("The school in general").check()
    continue_(parent)
    parent.get_by_label("Food and lunchtimes").check()
    continue_(parent)
    happened = TEST_NOW.date() - timedelta(days=2)
    parent.get_by_label("What happened?").fill(
        "My son has been given the same lunch option every day this week because the hot "
        "meals run out before Year 2 go in."
    )
    parent.get_by_label("Day").fill(str(happened.day))
    parent.get_by_label("Month").fill(str(happened.month))
    parent.get_by_label("Year").fill(str(happened.year))
    continue_(parent)
    parent.get_by_label("What have you done so far").fill("I asked at the office on Monday.")
    continue_(parent)
    parent.get_by_label("What would put it right").fill("Let the younger children go first.")
    continue_(parent)
    menu = tmp_path / "lunch-menu.pdf"
    menu.write_bytes(PDF_BYTES)
    parent.get_by_label("Choose a file").set_input_files(menu)
    continue_(parent)
    parent.get_by_label("Full name").fill("Amira Haddad")
    parent.get_by_label("Email address").fill("amira.haddad@example.com")
    continue_(parent)
    parent.wait_for_url("**/complaints/new/check")
    shoot(parent, "complaint-check")
    parent.get_by_role("button", name="Send", exact=True).click()
    parent.wait_for_url("**/complaints/new/done")
    shoot(parent, "complaint-sent")

    name, email = ANSWERED_PARENT
    parent.goto("/track")
    parent.get_by_label("Reference").fill(demo_reference(live_server, name))
    parent.get_by_label("Email address").fill(email)
    parent.get_by_role("button", name="Show my case").click()
    parent.wait_for_url("**/track/case")
    expect(parent.locator("main")).to_contain_text("Letter: our response to your complaint")
    shoot(parent, "track-stage1-letter")


# ---------------------------------------------------------------- the parent's form


@pytest.mark.parametrize("js", JS_MODES)
def test_every_form_page_and_its_errors(new_page: PageMaker, js: bool) -> None:
    page = new_page(js=js)
    page.goto("/complaints/new")
    check_page(page, "Raise a concern or make a complaint")
    page.get_by_role("button", name="Start now").click()

    heading = "Is this a concern or a formal complaint?"
    page.wait_for_url("**/complaints/new/kind")
    check_page(page, heading)
    continue_(page)
    check_errors(
        page, heading, {"kind": "Select whether this is a concern or a formal complaint"}, js=js
    )
    page.get_by_label("A concern", exact=True).check()
    continue_(page)

    heading = "Who is your concern or complaint about?"
    page.wait_for_url("**/complaints/new/about")
    check_page(page, heading)
    continue_(page)
    check_errors(page, heading, {"about": "Select who your concern or complaint is about"}, js=js)
    page.get_by_label("The school in general").check()
    continue_(page)

    heading = "What is it about?"
    page.wait_for_url("**/complaints/new/category")
    check_page(page, heading)
    continue_(page)
    check_errors(
        page, heading, {"category": "Select what your concern or complaint is about"}, js=js
    )
    page.get_by_label("Charges and payments").check()
    continue_(page)

    heading = "What happened?"
    page.wait_for_url("**/complaints/new/what-happened")
    check_page(page, heading)
    page.get_by_label("Day").fill("31")
    page.get_by_label("Month").fill("2")
    continue_(page)
    check_errors(
        page,
        heading,
        {
            "what_happened": "Tell us what happened",
            "happened_on-year": "The date must include a year",
        },
        js=js,
    )
    expect(page.get_by_label("Day")).to_have_value("31")
    page.get_by_label("What happened?").fill("The trip letter asked for £40 with two days' notice.")
    page.get_by_label("Day").fill("")
    page.get_by_label("Month").fill("")
    continue_(page)

    for heading in (
        "What have you done so far to sort it out? (optional)",
        "What would put it right? (optional)",
    ):
        check_page(page, heading)
        continue_(page)

    heading = "Add photos or documents (optional)"
    page.wait_for_url("**/complaints/new/attachments")
    check_page(page, heading)
    page.get_by_role("button", name="Add this file").click()
    check_errors(page, heading, {"file": "Select a file to add"}, js=js)
    page.get_by_label("Choose a file").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"just some words"}]
    )
    page.get_by_role("button", name="Add this file").click()
    check_errors(
        page, heading, {"file": "notes.txt must be a PDF, JPG, PNG or Word (.docx) file"}, js=js
    )
    continue_(page)

    heading = "Your contact details"
    page.wait_for_url("**/complaints/new/contact")
    check_page(page, heading)
    continue_(page)
    check_errors(
        page,
        heading,
        {"parent_name": "Enter your full name", "parent_email": "Enter your email address"},
        js=js,
    )
    page.get_by_label("Full name").fill("Leah Norris")
    page.get_by_label("Email address").fill("leah.norris@example.com")
    continue_(page)

    heading = "Check your answers before sending"
    page.wait_for_url("**/complaints/new/check")
    check_page(page, heading)
    page.get_by_role("link", name="Change who it is about").click()
    page.wait_for_url("**/complaints/new/about?from=check")
    check_page(page, "Who is your concern or complaint about?")
    expect(page.locator("a.govuk-back-link")).to_have_attribute("href", "/complaints/new/check")
    continue_(page)
    page.wait_for_url("**/complaints/new/check")
    page.get_by_role("button", name="Send", exact=True).click()

    page.wait_for_url("**/complaints/new/done")
    check_page(page, "Concern sent")
    reference = page.locator(".govuk-panel__body strong").inner_text().strip()
    page.locator("#private-link").click()
    page.wait_for_url(re.compile(r"/track/[\w-]+$"))
    check_page(page, f"Your concern {reference}")

    page.get_by_role("button", name="Withdraw your concern").click()
    page.wait_for_url("**/withdraw")
    check_page(page, "Are you sure you want to withdraw your concern?")
    page.get_by_role("button", name="Yes, withdraw it").click()
    page.wait_for_url("**?withdrawn=1")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("You have withdrawn")
    check_page(page, f"Your concern {reference}", focus_moved=js)


def test_parent_pages_fit_a_phone_screen(new_page: PageMaker) -> None:
    """At 375 px nothing on the parent's way through should need scrolling sideways."""
    page = new_page(js=True, viewport=MOBILE)
    too_wide: list[str] = []

    def fits() -> None:
        page.wait_for_load_state()
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > MOBILE["width"]:
            too_wide.append(f"{urlsplit(page.url).path} is {width} px wide")

    page.goto("/complaints/new")
    fits()
    page.get_by_role("button", name="Start now").click()
    answers: list[Callable[[], None]] = [
        lambda: page.get_by_label("A formal complaint").check(),
        lambda: page.get_by_label("A member of staff").check(),
        lambda: page.get_by_label("Special educational needs support").check(),
        lambda: page.get_by_label("What happened?").fill(
            "The reading sessions in my son's support plan stopped three weeks ago."
        ),
        lambda: None,
        lambda: None,
        lambda: None,
        lambda: (
            page.get_by_label("Full name").fill("Tomasz Wiśniewski-Fairbrother"),
            page.get_by_label("Email address").fill(
                "tomasz.wisniewski-fairbrother.family@a-long-email-domain.example.com"
            ),
        ),
    ]
    for answer in answers:
        fits()
        answer()
        continue_(page)
    page.wait_for_url("**/complaints/new/check")
    fits()
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url("**/complaints/new/done")
    fits()
    page.locator("#private-link").click()
    page.wait_for_url(re.compile(r"/track/[\w-]+$"))
    fits()
    assert not too_wide, "pages wider than a 375 px phone:\n" + "\n".join(too_wide)


# ---------------------------------------------------------------- following a case


@pytest.mark.parametrize("js", JS_MODES)
def test_track_pages_and_their_errors(
    new_page: PageMaker, live_server: LiveServer, js: bool
) -> None:
    heading = "Check your concern or complaint"
    page = new_page(js=js)
    page.goto("/track")
    check_page(page, heading)

    page.get_by_role("button", name="Show my case").click()
    check_errors(
        page,
        heading,
        {
            "reference": "Enter your reference, like C-7K4P-2QX",
            "email": "Enter your email address",
        },
        js=js,
    )

    name, email = ANSWERED_PARENT
    page.get_by_label("Reference").fill("C-AAAA-AAA")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Show my case").click()
    check_errors(
        page,
        heading,
        {
            "reference": "We could not find a case with that reference and email address. "
            "Check both and try again."
        },
        js=js,
    )
    expect(page.get_by_label("Email address")).to_have_value(email)

    reference = demo_reference(live_server, name)
    page.get_by_label("Reference").fill(reference.lower())
    page.get_by_role("button", name="Show my case").click()
    page.wait_for_url("**/track/case")
    check_page(page, f"Your complaint {reference}")
    expect(page.locator("main")).to_contain_text("Letter: our response to your complaint")
    expect(page.get_by_role("button", name="Ask for the governors' panel")).to_be_visible()

    page.get_by_role("button", name="Leave your case on this device").click()
    page.wait_for_url("**/track?left=1")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("You have left your case")
    check_page(page, heading, focus_moved=js)


# ---------------------------------------------------------------- staff pages


@pytest.mark.parametrize(
    ("email", "parent_name"),
    [(OFFICE, WITH_FILE_PARENT), (CHAIR, ABOUT_HEAD_PARENT)],
    ids=["office", "chair-case-about-head"],
)
def test_staff_queue_and_case_page(
    staff_page: StaffPage, live_server: LiveServer, email: str, parent_name: str
) -> None:
    page = staff_page(email)
    page.goto("/staff/complaints")
    check_page(page, "Complaints")
    reference = demo_reference(live_server, parent_name)
    row = page.locator(f"#queue tbody tr[data-reference='{reference}']")
    expect(row).to_contain_text(parent_name)
    row.get_by_role("link", name=reference).click()
    page.wait_for_url(f"**/staff/complaints/{reference}")
    check_page(page, f"Case {reference}")
    expect(page.locator("#parent-answers")).to_contain_text(parent_name.split()[0])


def test_head_cannot_see_the_case_about_the_head(
    staff_page: StaffPage, live_server: LiveServer
) -> None:
    reference = demo_reference(live_server, ABOUT_HEAD_PARENT)
    page = staff_page(HEAD)
    page.goto("/staff/complaints")
    expect(page.locator("#queue tbody tr").first).to_be_visible()
    expect(page.locator(f"#queue tbody tr[data-reference='{reference}']")).to_have_count(0)
    expect(page.locator("#queue")).not_to_contain_text(ABOUT_HEAD_PARENT)

    page.goto(f"/staff/complaints?q={reference}")
    expect(page.locator("#queue tbody")).to_contain_text("No cases match these filters.")

    response = page.goto(f"/staff/complaints/{reference}")
    assert response is not None and response.status == 404
    expect(page.locator("main")).not_to_contain_text(ABOUT_HEAD_PARENT)
