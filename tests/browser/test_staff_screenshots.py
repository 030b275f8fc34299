"""Screenshots of the staff pages a phone and a long case change (PORTAL_SCREENSHOTS=1 only):
the queue at 375 px, each case a stacked summary, and a case's history at 1280 px after many
looks and more changes than one page shows."""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.clock import FixedClock
from portal.complaints import services
from portal.complaints.models import Stage
from portal.config import PROJECT_ROOT
from portal.db import make_engine
from portal.history import history_import_permitted
from tests.browser.conftest import (
    DESKTOP,
    MOBILE,
    LiveServer,
    PageMaker,
    assert_accessible,
    sign_in,
)
from tests.clocks import TEST_NOW
from tests.factories import answers

pytestmark = pytest.mark.skipif(
    os.environ.get("PORTAL_SCREENSHOTS") != "1",
    reason="screenshots are taken only with PORTAL_SCREENSHOTS=1 (make screenshots)",
)

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
HEAD = "head@brookfield-primary.example"


def test_screenshot_queue_on_a_phone(new_page: PageMaker) -> None:
    page = new_page(js=True, viewport=MOBILE)
    sign_in(page, HEAD)
    page.goto("/staff/complaints")
    expect(page.locator("#queue tbody tr[data-reference]").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(
        path=SCREENSHOTS / "complaint-queue-375.png", full_page=True, animations="disabled"
    )


def _long_case(live_server: LiveServer) -> str:
    """A stage 1 case three weeks old, after a long exchange, opened many times. Built with a
    clock that starts in the past, as made-up records are (`portal seed`): so its events are
    dated over those weeks, under the history's import permit."""
    clock = FixedClock(TEST_NOW - timedelta(days=21))
    engine = make_engine(live_server.settings.database_url, clock)
    settings = live_server.settings
    try:
        with Session(engine, expire_on_commit=False) as session:
            people = {user.email.split("@")[0]: user for user in session.scalars(select(StaffUser))}
            office, head, chair = people["office"], people["head"], people["chair"]
            with history_import_permitted(session):
                case = services.submit(
                    session,
                    settings,
                    answers(
                        parent_name="Imogen Clarke",
                        parent_email="imogen.clarke@example.com",
                        category="Teaching and learning",
                        what_happened="My daughter's reading book has not changed since September.",
                    ),
                    now=clock.now(),
                ).complaint
                clock.advance(timedelta(hours=3))
                services.record_view(session, case, office)
                services.triage(
                    session,
                    settings,
                    case,
                    office,
                    services.Triage(stage=Stage.stage1, category=case.category, handler_id=head.id),
                )
                days = [TEST_NOW.date() - timedelta(days=ago) for ago in range(20, 0, -1)]
                weekdays = [day for day in days if day.weekday() < 5]
                moments = [
                    datetime.combine(day, time(hour)) for day in weekdays for hour in (9, 13)
                ]
                for number, moment in enumerate(moments, start=1):
                    session.flush()
                    clock.set(moment)
                    for user, times in ((head, 7), (office, number % 3), (chair, number // 25)):
                        for _ in range(times):
                            services.record_view(session, case, user)
                    services.send_message(
                        session,
                        settings,
                        case,
                        head,
                        f"Update {number}: we are still looking into the reading books.",
                    )
                    clock.advance(timedelta(minutes=40))
                    services.add_note(session, case, head, f"Checked with the class ({number}).")
                    session.flush()  # stamped with the clock's time now, not at the next step's
                session.flush()  # inside the permit
            session.commit()
            return case.reference
    finally:
        engine.dispose()


def test_screenshot_a_long_case_history(new_page: PageMaker, live_server: LiveServer) -> None:
    reference = _long_case(live_server)
    page = new_page(js=True, viewport=DESKTOP)
    sign_in(page, HEAD)
    page.goto(f"/staff/complaints/{reference}")
    history = page.locator("#history")
    expect(history.locator("#changes tbody tr")).to_have_count(50)
    expect(history.locator(".govuk-pagination__prev")).to_contain_text("Show earlier events")
    assert_accessible(page)
    page.evaluate("document.fonts.ready.then(() => true)")
    box = history.bounding_box()
    assert box is not None
    page.screenshot(
        path=SCREENSHOTS / "complaint-history-1280.png",
        full_page=True,
        animations="disabled",
        clip={"x": 0, "y": box["y"] - 30, "width": DESKTOP["width"], "height": box["height"] + 60},
    )
    page.locator(".govuk-pagination__prev a").click()
    expect(history.locator(".govuk-pagination__next")).to_contain_text("Show later events")
    expect(history.locator("#changes tbody tr").first).to_contain_text("Received")


@pytest.mark.parametrize(
    ("who", "viewport", "name"), [("head", DESKTOP, "1280"), ("office", MOBILE, "375")]
)
def test_screenshot_staff_home_your_move(
    new_page: PageMaker, who: str, viewport, name: str
) -> None:
    page = new_page(js=True, viewport=viewport)
    sign_in(page, f"{who}@brookfield-primary.example")
    page.goto("/staff")
    expect(page.get_by_role("heading", name="Your cases")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=SCREENSHOTS / f"staff-home-{who}-{name}.png", full_page=True, animations="disabled"
    )


def test_screenshot_week_view(new_page: PageMaker) -> None:
    page = new_page(js=True, viewport=DESKTOP)
    sign_in(page, HEAD)
    page.goto("/staff/complaints/week")
    expect(page.get_by_role("heading", level=1)).to_contain_text("What falls due in the week of")
    assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "week-view-1280.png", full_page=True, animations="disabled")


def test_screenshot_letter_draft_and_preview(new_page: PageMaker) -> None:
    """The head's half-written letter on the case page, then its preview before sending."""
    page = new_page(js=True, viewport=DESKTOP)
    sign_in(page, HEAD)
    page.goto("/staff/complaints?q=Desai")
    page.locator("#queue tbody tr[data-reference] a").first.click()
    letter = page.locator("#letter")
    expect(letter).to_contain_text("Draft saved")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    letter.screenshot(path=SCREENSHOTS / "letter-draft-1280.png", animations="disabled")
    letter.get_by_label("Partly upheld").check()
    letter.get_by_label("Our decision and the reasons for it").fill(
        "The sessions stopped when the teaching assistant was off sick, and nobody told you. "
        "That was wrong, and I am sorry."
    )
    letter.get_by_label("What we will do").fill(
        "Reading sessions start again on Monday with Mrs Patel. Mrs Okoro will phone you "
        "every Friday this half-term to say how they went."
    )
    letter.get_by_role("button", name="Preview the letter").click()
    page.wait_for_url("**/letter")
    assert_accessible(page)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(
        path=SCREENSHOTS / "letter-preview-1280.png", full_page=True, animations="disabled"
    )
