"""Confirming the photo guidance in a real Chromium: a demo parent whose Year 3 sports day is
waiting on the guidance signs in with an emailed link, confirms (after a clear error when the box
is not ticked), and gets the event's details at once; the office sees the class list and the
event change. axe-core checks every page. Screenshots (PORTAL_SCREENSHOTS=1) of the guidance, the
staff page and the event."""

from __future__ import annotations

import os

from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select
from sqlmodel import Session

from portal.config import PROJECT_ROOT
from portal.mail import OutboxMessage
from portal.sealing import unseal
from tests.browser.conftest import (
    LIVE_SECRET,
    TITLE_SUFFIX,
    LiveServer,
    PageMaker,
    assert_accessible,
    sign_in,
)

YUSUF = "yusuf.hassan@example.com"  # Ibrahim's father (3B, Year 3): not confirmed in the demo
OFFICE = "office@brookfield-primary.example"
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
TAKE_SCREENSHOTS = os.environ.get("PORTAL_SCREENSHOTS") == "1"


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


def _screenshot(page: Page, name: str) -> None:
    if TAKE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def _row_of(page: Page, table: str, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f"{table} tbody tr").filter(has=page.get_by_role("rowheader", name=name))


def test_a_parent_confirms_the_guidance_and_gets_the_waiting_event(
    new_page: PageMaker, live_server: LiveServer
) -> None:
    database_url = live_server.settings.database_url
    office = new_page()
    sign_in(office, OFFICE)
    office.goto("/staff/confirmations?class_name=3B")
    on_page(office, "Confirmations")
    expect(_row_of(office, "#families", "Yusuf Hassan")).to_contain_text("Not confirmed")
    before = office.locator("#count-photo-guidance td").nth(1).inner_text()
    _screenshot(office, "staff-confirmations-1280.png")

    office.get_by_role("link", name="Year 3 sports day").click()
    on_page(office, "Year 3 sports day")
    expect(_row_of(office, "#guests", "Yusuf Hassan")).to_contain_text(
        "Waiting for them to confirm"
    )
    _screenshot(office, "event-1280.png")

    parent = new_page()
    parent.goto("/photos")
    parent.get_by_label("Email address").fill(YUSUF)
    parent.get_by_role("button", name="Email me a link").click()
    sealed = [m for m in _messages_to(database_url, YUSUF) if m.sealed_secret]
    assert sealed, "no sign-in email"
    parent.goto(unseal(LIVE_SECRET, sealed[-1].sealed_secret or ""))
    parent.get_by_role("button", name="Continue").click()
    parent.wait_for_url("**/photos/answers")
    parent.get_by_role("link", name="what we ask of families").click()
    on_page(parent, "Photos at school events: what we ask")
    expect(parent.locator("#waiting + ul")).to_contain_text("Year 3 sports day")
    _screenshot(parent, "photos-guidance-1280.png")

    parent.get_by_role("button", name="Confirm").click()
    expect(parent).to_have_title("Error: Photos at school events: what we ask" + TITLE_SUFFIX)
    assert_accessible(parent)
    expect(parent.locator(".govuk-error-summary")).to_contain_text(
        "Tick the box to say you have read this and will follow it"
    )
    parent.get_by_label("I have read this and will follow it").check()
    parent.get_by_role("button", name="Confirm").click()
    on_page(parent, "Photos at school events: what we ask")
    expect(parent.locator("#thanks")).to_contain_text("Year 3 sports day")
    expect(parent.locator("#confirmed")).to_contain_text("You confirmed this on")
    subjects = [m.subject for m in _messages_to(database_url, YUSUF)]
    assert subjects.count("Year 3 sports day: the details") == 1

    parent.goto("/parents/online")
    parent.get_by_role("link", name="Confirm you have read this").click()
    on_page(parent, 'Confirm you have read "Being online"')
    parent.get_by_label("I have read this and will follow it").check()
    parent.get_by_role("button", name="Confirm").click()
    expect(parent.locator("#confirmed")).to_be_visible()

    office.goto("/staff/confirmations?class_name=3B")
    on_page(office, "Confirmations")
    expect(_row_of(office, "#families", "Yusuf Hassan")).not_to_contain_text("Not confirmed")
    after = office.locator("#count-photo-guidance td").nth(1).inner_text()
    assert int(after.split()[0]) == int(before.split()[0]) + 1
    office.get_by_role("link", name="Year 3 sports day").click()
    expect(_row_of(office, "#guests", "Yusuf Hassan")).to_contain_text("Sent")

    office.goto("/staff/events/new")
    on_page(office, "Create an event")
    office.get_by_role("button", name="Save the event").click()
    expect(office).to_have_title("Error: Create an event" + TITLE_SUFFIX)
    assert_accessible(office)
    expect(office.locator(".govuk-error-summary")).to_contain_text("Enter the event's name")
