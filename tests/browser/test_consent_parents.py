"""Photo consent from the parents' side in a real Chromium: the demo parent asks for a sign-in
link, opens it from the email, consents for one child and refuses for the other, later
withdraws one answer (an email confirms it); the other parent refuses what she gave, the no
wins and both are told; the office's photo check then says who may appear, and why. axe-core
checks every page on the way. Screenshots (PORTAL_SCREENSHOTS=1) of the request and answers pages.
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select
from sqlmodel import Session

from portal.config import PROJECT_ROOT
from portal.mail import OutboxMessage
from portal.sealing import unseal
from tests.browser.conftest import (
    DESKTOP,
    LIVE_SECRET,
    TITLE_SUFFIX,
    LiveServer,
    PageMaker,
    assert_accessible,
    sign_in,
)

SARAH = "sarah.jones@example.com"  # the demo parent: Millie (3B) and Lily (4M)
TOM = "tom.jones@example.com"  # their father, also with parental responsibility
OFFICE = "office@brookfield-primary.example"
PHONE_WIDE = {"width": 390, "height": 844}
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"


def on_page(page: Page, heading: str) -> None:
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_have_text(heading)
    expect(page).to_have_title(heading + TITLE_SUFFIX)
    assert_accessible(page)


def _messages_to(database_url: str, address: str) -> list[OutboxMessage]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            return list(
                session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.to_address == address)
                    .order_by(OutboxMessage.id)
                )
            )
    finally:
        engine.dispose()


def subjects_to(database_url: str, address: str) -> list[str]:
    return [message.subject for message in _messages_to(database_url, address)]


def link_from_email(database_url: str, address: str) -> str:
    """The sign-in link as the parent's mailbox shows it (the outbox keeps it sealed)."""
    sealed = [m for m in _messages_to(database_url, address) if m.sealed_secret]
    assert sealed, f"no sign-in email to {address}"
    return unseal(LIVE_SECRET, sealed[-1].sealed_secret or "")


def sign_in_as_parent(page: Page, database_url: str, address: str, *, axe: bool = True) -> None:
    page.goto("/photos")
    if axe:
        on_page(page, "Photos of your child")
    page.get_by_label("Email address").fill(address)
    page.get_by_role("button", name="Email me a link").click()
    if axe:
        on_page(page, "Check your email")
    expect(page.locator("#sent-to")).to_contain_text(address)
    link = link_from_email(database_url, address)
    page.goto(link)
    if axe:
        on_page(page, "Sign in to answer about photos")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/photos/answers")
    if axe:
        on_page(page, "Your answers about photos")


def child_form(page: Page, first_name: str):  # type: ignore[no-untyped-def]
    return page.locator("form").filter(
        has=page.get_by_role("button", name=f"Save answers for {first_name}")
    )


def save(page: Page, first_name: str) -> None:
    page.get_by_role("button", name=f"Save answers for {first_name}").click()
    page.wait_for_url("**/photos/answers?saved=*")
    expect(page.locator("#saved")).to_contain_text(f"Your answers for {first_name} are saved")
    assert_accessible(page)


@pytest.mark.skipif(
    os.environ.get("PORTAL_SCREENSHOTS") != "1",
    reason="screenshots are taken only with PORTAL_SCREENSHOTS=1 (make screenshots)",
)
def test_screenshot_photos_request_and_answers(
    new_page: PageMaker, live_server: LiveServer, live_database_url: str
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = new_page(js=True, viewport=DESKTOP)
    page.goto("/photos")
    page.screenshot(path=SCREENSHOTS / "photos-request-1280.png", full_page=True)
    sign_in_as_parent(page, live_database_url, SARAH, axe=False)
    page.screenshot(path=SCREENSHOTS / "photos-answers-1280.png", full_page=True)
    page.set_viewport_size(PHONE_WIDE)
    page.screenshot(path=SCREENSHOTS / "photos-answers-390.png", full_page=True)


def test_parents_answer_withdraw_and_disagree_and_the_photo_check_follows(
    new_page: PageMaker, live_database_url: str
) -> None:
    # --- Sarah asks for a link and signs in --------------------------------------------------
    sarah = new_page(js=True)
    sarah.goto("/")
    sarah.get_by_role("link", name="Photos and consent").click()
    sign_in_as_parent(sarah, live_database_url, SARAH)
    assert sarah.locator("input[type=radio]:checked").count() == 0  # nothing ticked for her
    expect(sarah.locator("h2[id^=child-]")).to_have_text(["Millie Jones", "Lily Jones"])

    # --- she consents for Millie and refuses for Lily, but says yes to video for Lily -------
    millie = child_form(sarah, "Millie")
    millie.get_by_role("group", name="Video", exact=True).get_by_label("Yes", exact=True).check()
    millie.locator("input[name=answer_website][value=yes]").check()
    millie.locator("input[name=naming_website][value=no]").check()
    save(sarah, "Millie")
    lily = child_form(sarah, "Lily")
    lily.locator("input[name=answer_website][value=no]").check()
    lily.locator("input[name=answer_video][value=yes]").check()
    save(sarah, "Lily")
    expect(sarah.locator("main")).to_contain_text("Your answer now: no")

    # --- a mistake in the form comes back with the answers kept -----------------------------
    child_form(sarah, "Millie").locator("input[name=answer_newsletter][value=yes]").check()
    sarah.get_by_role("button", name="Save answers for Millie").click()
    expect(sarah).to_have_title("Error: Your answers about photos" + TITLE_SUFFIX)
    expect(sarah.locator(".govuk-error-summary")).to_contain_text(
        "Say whether we may give Millie's name for newsletter and prospectus"
    )
    expect(
        child_form(sarah, "Millie").locator("input[name=answer_newsletter][value=yes]")
    ).to_be_checked()
    assert_accessible(sarah)

    # --- later she withdraws the website for Millie: an email confirms it -------------------
    sarah.goto("/photos/answers")
    child_form(sarah, "Millie").locator("input[name=answer_website][value=no]").check()
    save(sarah, "Millie")
    assert "You have withdrawn consent for photos of Millie" in subjects_to(
        live_database_url, SARAH
    )

    # --- she signs out; the used link no longer works ----------------------------------------
    used_link = link_from_email(live_database_url, SARAH)
    sarah.get_by_role("button", name="Sign out").click()
    sarah.wait_for_url("**/photos?signed_out=1")
    on_page(sarah, "Photos of your child")
    expect(sarah.locator("#signed-out")).to_contain_text("You have signed out")
    sarah.goto(used_link)
    on_page(sarah, "This link no longer works")

    # --- Tom refuses the video Sarah gave for Lily: the no wins, both are told ---------------
    tom = new_page(js=False)
    sign_in_as_parent(tom, live_database_url, TOM)
    child_form(tom, "Lily").locator("input[name=answer_video][value=no]").check()
    save(tom, "Lily")
    for address in (SARAH, TOM):
        assert any(
            "different answers about photos of Lily" in subject
            for subject in subjects_to(live_database_url, address)
        ), address

    # --- the office's photo check shows the right answers, with reasons ----------------------
    office = new_page(js=True)
    sign_in(office, OFFICE)
    results = {}
    for purpose in ("Video", "School website"):
        office.goto("/staff/photo-check")
        on_page(office, "Photo check")
        office.get_by_label("Find pupils by name").fill("Jones")
        office.get_by_role("button", name="Find pupils").click()
        office.get_by_label("Millie Jones, 3B").check()
        office.get_by_label("Lily Jones, 4M").check()
        office.get_by_role("group", name="Where will the picture be used?").get_by_label(
            purpose, exact=True
        ).check()
        office.get_by_role("button", name="Check these pupils").click()
        office.wait_for_url("**/staff/photo-check/*")
        on_page(office, f"Photo check: {purpose}")
        rows = office.locator("#answers tbody tr")
        results[purpose] = {
            rows.nth(i).locator("th").inner_text().split(",")[0]: [
                cell.strip() for cell in rows.nth(i).locator("td").all_inner_texts()[:2]
            ]
            for i in range(rows.count())
        }
    assert results["Video"]["Millie Jones"] == ["Yes", "Consent given"]
    assert results["Video"]["Lily Jones"] == ["No", "Refused"]
    millie_website = results["School website"]["Millie Jones"]
    assert millie_website[0] == "No" and millie_website[1].startswith("Withdrawn on ")
    assert results["School website"]["Lily Jones"] == ["No", "Refused"]

    # --- and the pupil's page shows each answer with how it came: online ---------------------
    office.goto("/staff/pupils?name=Lily")
    office.get_by_role("link", name="Lily Jones").click()
    on_page(office, "Lily Jones")
    expect(office.locator("#records")).to_contain_text("Tom Jones, online")
    expect(office.locator("#records")).to_contain_text("Sarah Jones, online")
