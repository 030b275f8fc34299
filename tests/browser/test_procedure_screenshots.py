"""Screenshots of the procedure's newer staff pages (PORTAL_SCREENSHOTS=1 only): logging a
complaint that came by phone, its confirmation for the post, the emails office must place, and
the head giving a case to a senior leader."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect

from portal.config import PROJECT_ROOT
from tests.browser.conftest import (
    DESKTOP,
    MOBILE,
    LiveServer,
    PageMaker,
    assert_accessible,
    sign_in,
)

pytestmark = pytest.mark.skipif(
    os.environ.get("PORTAL_SCREENSHOTS") != "1",
    reason="screenshots are taken only with PORTAL_SCREENSHOTS=1 (make screenshots)",
)

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
OFFICE = "office@brookfield-primary.example"
HEAD = "head@brookfield-primary.example"


def shoot(page: Page, name: str) -> None:
    assert_accessible(page)
    width = page.viewport_size["width"] if page.viewport_size else 1280
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True, animations="disabled")


@pytest.mark.parametrize(("viewport", "width"), [(DESKTOP, 1280), (MOBILE, 375)])
def test_screenshot_log_a_complaint(new_page: PageMaker, viewport: dict, width: int) -> None:
    page = new_page(js=True, viewport=viewport)
    sign_in(page, OFFICE)
    page.goto("/staff/complaints/new")
    expect(page.locator("h1")).to_contain_text("Log a complaint")
    shoot(page, f"log-complaint-{width}")


def test_screenshot_a_phone_complaint_logged_for_the_post(new_page: PageMaker) -> None:
    page = new_page(js=True, viewport=DESKTOP)
    sign_in(page, OFFICE)
    page.goto("/staff/complaints/new")
    page.get_by_label("Phone call").check()
    page.locator("#received_on_day").fill("23")
    page.locator("#received_on_month").fill("11")
    page.locator("#received_on_year").fill("2026")
    page.get_by_label("Parent's full name").fill("Rosa Lindqvist")
    page.get_by_label("Postal address").fill("7 Cherry Walk\nBrookfield\nMK40 9ZZ")
    page.get_by_label("A formal complaint (stage 1)").check()
    page.get_by_label("The school in general").check()
    page.get_by_label("Category").select_option(index=1)
    page.get_by_label("What happened", exact=True).fill(
        "Mrs Lindqvist phoned: the after-school club closed early on Monday with no notice."
    )
    page.get_by_role("button", name="Log the complaint").click()
    page.wait_for_url("**/staff/complaints/new/done")
    shoot(page, "log-complaint-done-1280")


def test_screenshot_emails_we_could_not_place(new_page: PageMaker) -> None:
    page = new_page(js=True, viewport=DESKTOP)
    sign_in(page, OFFICE)
    page.goto("/staff/complaints/emails")
    shoot(page, "held-emails-1280")
    page.locator("main table a, main .govuk-summary-card a, main ul a").first.click()
    page.wait_for_load_state()
    shoot(page, "held-email-1280")


def test_screenshot_giving_a_case_to_a_senior_leader(new_page: PageMaker) -> None:
    page = new_page(js=True, viewport=DESKTOP)
    sign_in(page, HEAD)
    page.goto("/staff/complaints?q=Clarke")
    page.locator("#queue tbody tr[data-reference] a").first.click()
    section = page.locator("#delegation")
    expect(section).to_contain_text("Daniel Mensah")
    assert_accessible(page)
    section.screenshot(path=SCREENSHOTS / "delegated-case-1280.png", animations="disabled")


def _stage2_case_with_a_hearing(live_server: LiveServer) -> str:
    """A parent's complaint at stage 2 with the panel arranged in a fortnight: its private link."""
    from datetime import timedelta

    from sqlalchemy import select
    from sqlmodel import Session

    from portal.accounts.models import StaffUser
    from portal.clock import FixedClock
    from portal.complaints import services
    from portal.db import make_engine
    from tests.clocks import TEST_NOW
    from tests.factories import answers, letter, sort_case

    settings = live_server.settings
    engine = make_engine(settings.database_url, FixedClock(TEST_NOW))
    try:
        with Session(engine, expire_on_commit=False) as session:
            people = {user.email.split("@")[0]: user for user in session.scalars(select(StaffUser))}
            received = services.submit(
                session,
                settings,
                answers(
                    parent_name="Farah Siddiqui",
                    parent_email="farah.siddiqui@example.com",
                    category="Communication with the school",
                    what_happened="Nobody told us the swimming lessons had moved to Friday.",
                ),
            )
            case = received.complaint
            sort_case(session, settings, case, people["office"], handler=people["head"])
            services.respond(session, settings, case, people["head"], letter())
            services.escalate(session, settings, case, "The letter does not say what changes.")
            governors = [people["governor"], people["governor2"], people["governor3"]]
            services.record_panel(
                session,
                case,
                people["clerk"],
                hearing_on=TEST_NOW.date() + timedelta(days=14),
                member_ids=[g.id for g in governors],
                papers="",
                hearing_notes="",
                hearing_time="18:00",
                hearing_format="in_person",
                hearing_place="The school library",
                settings=settings,
            )
            session.commit()
            return f"/track/{received.access_token}"
    finally:
        engine.dispose()


@pytest.mark.parametrize(("viewport", "width"), [(DESKTOP, 1280), (MOBILE, 375)])
def test_screenshot_the_parents_hearing_and_papers(
    new_page: PageMaker, live_server: LiveServer, viewport: dict, width: int
) -> None:
    link = _stage2_case_with_a_hearing(live_server)
    page = new_page(js=True, viewport=viewport)
    page.goto(link + "#hearing")
    expect(page.locator("#papers")).to_be_visible()
    shoot(page, f"track-hearing-papers-{width}")
