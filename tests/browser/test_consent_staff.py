"""Staff journeys through photo consent in a real browser, axe (WCAG 2.2 AA) on every page:

(a) the office imports a register with mistakes (each row's problems listed, nothing written),
    fixes the file and imports it again (pupils updated by their id, none doubled, a pupil no
    longer in the full file marked as left);
(b) a photo check of several pupils gives each answer with its reason (given, no answer,
    refused, withdrawn on a date, lapsed, left, restricted) and whether the child may be named;
    the office records a paper form with its scan, and the history offers the scan;
(c) an admin changes a use's wording (a new version, shown) and how long an answer lasts.

Each journey has a portal of its own holding the demo school (the register import and the
settings change what other tests rely on). With PORTAL_SCREENSHOTS=1 the consent settings page
and the paper-form entry are saved as screenshots.
"""

from __future__ import annotations

import os

from playwright.sync_api import Page, expect
from sqlalchemy import select, update
from sqlmodel import Session

from portal.config import PROJECT_ROOT
from portal.consent.models import Pupil
from portal.db import make_engine
from tests.browser.conftest import LiveServer, assert_accessible, sign_in
from tests.browser.own_portal import own_demo_page, own_demo_server
from tests.clocks import fixed_test_clock

OFFICE = "office@brookfield-primary.example"
ADMIN = "admin@brookfield-primary.example"
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
TAKE_SCREENSHOTS = os.environ.get("PORTAL_SCREENSHOTS") == "1"

__all__ = ["own_demo_page", "own_demo_server"]


def checked(page: Page) -> None:
    """The page has loaded with a single h1 and passes axe."""
    expect(page.locator("h1")).to_have_count(1)
    assert_accessible(page)


# ---------------------------------------------------------------- (a) the register import

HEADER = "UPN,Legal Forename,Legal Surname,Preferred Forename,Year,Reg Group,DOB"
GOOD_ROWS = [
    "B3001,Amelia,Jones,Millie,Year 3,3B,21/03/2017",
    "B3002,Zoë,O'Neill,,Year 3,3B,02/11/2016",
    "B3003,Ibrahim,Hassan,,Year 3,3B,14/01/2017",
    "B3004,Oliver,Brown,Ollie,Year 3,3B,30/09/2016",
    "B3005,Maya,Patel,,Year 3,3B,05/06/2017",
    "B4001,Kwame,Mensah,,Year 4,4M,09/07/2015",
    "B4002,Lily,Jones,,Year 4,4M,01/12/2015",
    "B4003,Harry,Wilson,Hal,Year 4,4M,18/02/2016",
    "B3007,Freya,Evans,,Year 3,3B,12/04/2017",
    "B3009,Freya,Adams,,Year 3,3B,01/04/2017",
]  # Sofia Nowak (B4004) has left: she is not in the file


def _file(rows: list[str]) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("utf-8")


def _upload(page: Page, content: bytes, name: str) -> None:
    page.goto("/staff/pupils/import")
    checked(page)
    page.get_by_label("Pupil file").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": content}
    )
    page.get_by_label("Yes, every pupil on roll").check()
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_url("**/staff/pupils/import/**")


def _pupils_in(page: Page, query: str) -> list[str]:
    page.goto(f"/staff/pupils?{query}")
    return [row.inner_text() for row in page.locator("#pupils tbody tr td:first-child").all()]


def test_office_imports_a_register_with_errors_fixes_it_and_imports_again(
    own_demo_page: Page, own_demo_server: LiveServer
) -> None:
    page = own_demo_page
    sign_in(page, OFFICE)
    before = _pupils_in(page, "left=yes")
    checked(page)
    wrong = [
        GOOD_ROWS[0],
        "B3002,Zoë,O'Neill,,Year 3,3B,31/02/2016",  # there is no 31 February
        GOOD_ROWS[2],
        GOOD_ROWS[2],  # the same pupil twice
        *GOOD_ROWS[3:5],
        "B4001,Kwame,,,Year 4,4M,09/07/2015",  # no surname
        *GOOD_ROWS[6:],
    ]
    _upload(page, _file(wrong), "register-monday.csv")
    checked(page)
    expect(page.locator("#confirm")).to_have_text("3 rows have problems")
    problems = page.locator("#row-errors tbody tr")
    expect(problems).to_have_count(3)
    text = page.locator("#row-errors").inner_text()
    assert "B3002" in text and "B3003" in text and "B4001" in text
    expect(page.get_by_role("button", name="Update the register")).to_have_count(0)
    # Nothing was written.
    assert _pupils_in(page, "left=yes") == before

    _upload(page, _file(GOOD_ROWS), "register-monday-fixed.csv")
    checked(page)
    counts = page.locator("#counts").inner_text()
    assert "New pupils\t1" in counts or "New pupils\n1" in counts
    expect(page.locator("#leaving")).to_contain_text("Sofia Nowak")
    page.get_by_role("button", name="Update the register").click()
    expect(page.locator(".govuk-panel__title")).to_have_text("The register is updated")
    checked(page)

    after = _pupils_in(page, "left=yes")
    checked(page)
    assert len(after) == len(before) + 1  # Freya is new; nobody is doubled
    assert len(set(after)) == len(after)
    assert "Freya Adams" in after
    assert "Sofia Nowak (left)" in after
    assert "Hal Wilson" in after  # updated by pupil id: the preferred name from the file
    assert "Harry Wilson" not in after
    assert "Sofia Nowak" not in _pupils_in(page, "")
    page.get_by_role("link", name="Freya Adams").click()
    checked(page)


# ---------------------------------------------------------------- (b) the photo check


def _answers(page: Page) -> dict[str, list[str]]:
    lines = {}
    for row in page.locator("#answers tbody tr").all():
        name = row.locator("th").inner_text().split(",")[0]
        lines[name] = [cell.inner_text() for cell in row.locator("td").all()]
    return lines


def test_a_photo_check_gives_each_pupil_the_right_answer_with_its_reason(
    own_demo_page: Page, own_demo_server: LiveServer
) -> None:
    page = own_demo_page
    sign_in(page, OFFICE)
    # The school website, for a picture of class 3B with Kwame from 4M in it.
    page.goto("/staff/photo-check")
    checked(page)
    page.get_by_label("Find pupils by name").fill("")
    page.get_by_label("Or show a class").select_option("3B")
    page.get_by_role("button", name="Find pupils").click()
    checked(page)
    for name in ("Millie Jones", "Zoë O'Neill", "Maya Patel", "Ollie Brown"):
        page.get_by_label(name).check()
    page.get_by_label("School website", exact=True).check()
    page.get_by_role("button", name="Check these pupils").click()
    page.wait_for_url("**/staff/photo-check/**")
    checked(page)
    website = _answers(page)
    assert website["Millie Jones"] == ["Yes", "Consent given", "Yes"]  # both parents: yes
    assert website["Zoë O'Neill"] == ["No", "Refused", "No"]
    assert website["Maya Patel"] == ["No", "No answer yet", "No"]
    assert website["Ollie Brown"] == ["No", "Restricted", "No"] or website.get("Oliver Brown") == [
        "No",
        "Restricted",
        "No",
    ]
    assert "Looked after" not in page.locator("main").inner_text()

    # Kwame's parents said yes last school year: lapsed. Harry has no answer.
    page.goto("/staff/photo-check")
    page.get_by_label("Find pupils by name").fill("")
    page.get_by_label("Or show a class").select_option("4M")
    page.get_by_role("button", name="Find pupils").click()
    checked(page)
    page.get_by_label("Kwame Mensah").check()
    page.get_by_label("Harry Wilson").check()
    page.get_by_label("School website", exact=True).check()
    page.get_by_role("button", name="Check these pupils").click()
    page.wait_for_url("**/staff/photo-check/**")
    checked(page)
    lapsed = _answers(page)
    assert lapsed["Kwame Mensah"] == ["No", "Lapsed: ask again", "No"]
    assert lapsed["Harry Wilson"] == ["No", "No answer yet", "No"]
    harry_check = page.url

    # Social media: Maya's parent said yes, then no three days ago.
    page.goto("/staff/photo-check")
    page.get_by_label("Find pupils by name").fill("Maya")
    page.get_by_role("button", name="Find pupils").click()
    checked(page)
    page.get_by_label("Maya Patel").check()
    page.get_by_label("School social media", exact=True).check()
    page.get_by_role("button", name="Check these pupils").click()
    page.wait_for_url("**/staff/photo-check/**")
    checked(page)
    social = _answers(page)
    assert social["Maya Patel"][:2] == ["No", "Withdrawn on 22 November 2026"]

    # Harry leaves the school (his last day today): the check made this morning says so now
    # (it was no before, so the check is not out of date: still no, and why).
    engine = make_engine(own_demo_server.settings.database_url)
    with Session(engine) as session:
        session.execute(
            update(Pupil)
            .where(Pupil.mis_id == "B4003")
            .values(on_roll=False, left_on=fixed_test_clock().now().date())
        )
        session.commit()
    engine.dispose()
    page.goto(harry_check)  # reopening a check works every answer out again
    checked(page)
    assert _answers(page)["Harry Wilson"][:2] == ["No", "Left the school"]

    # The office records Zoë's paper form, with its scan.
    page.goto("/staff/pupils?name=Zo%C3%AB")
    page.get_by_role("link", name="Zoë O'Neill").click()
    checked(page)
    page.get_by_role("link", name="Record answers from a paper form or a phone call").click()
    checked(page)
    page.get_by_label("Róisín O'Neill (Mother)").check()
    page.get_by_label("Paper form", exact=True).check()
    page.get_by_label("For a paper form: the scanned form").set_input_files(
        {"name": "zoe-consent.png", "mimeType": "image/png", "buffer": _scan_png()}
    )
    page.locator("#answer_video").check()
    checked(page)
    if TAKE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=SCREENSHOTS / "pupil-answers-paper-1280.png", full_page=True, animations="disabled"
        )
    page.get_by_role("button", name="Save the answers").click()
    page.wait_for_url("**#consent")
    checked(page)
    link = page.locator("#records a", has_text="Download the scanned form").first
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "zoe-consent.png"
    expect(page.locator("#records")).to_contain_text("Video (wording 1)")


def _scan_png() -> bytes:
    from portal.consent.demo import demo_scan
    from portal.consent.models import Contact

    return demo_scan(
        Pupil(legal_first_name="Zoë", legal_last_name="O'Neill"),  # type: ignore[call-arg]
        Contact(name="Róisín O'Neill"),
    )


# ---------------------------------------------------------------- (c) the settings


def test_an_admin_changes_a_wording_and_how_long_answers_last(
    own_demo_page: Page, own_demo_server: LiveServer
) -> None:
    page = own_demo_page
    sign_in(page, ADMIN)
    page.get_by_role("link", name="Consent settings").first.click()
    checked(page)
    video = page.locator(".govuk-summary-card", has_text="Video")
    expect(video).to_contain_text("Wording (version 1)")
    video.get_by_role("link", name="Change").click()
    checked(page)
    expect(page.locator("h1")).to_have_text("Change Video")
    page.get_by_label("What parents read").fill(
        "Videos of your child made by the school, such as the school play, shared with parents."
    )
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/staff/consent-settings#purpose-*")
    checked(page)
    video = page.locator(".govuk-summary-card", has_text="Video")
    expect(video).to_contain_text("Wording (version 2)")
    expect(video).to_contain_text("such as the school play, shared with parents")
    expect(video).to_contain_text("Last changed by Priya Shah on")
    expect(page.locator("#changes + ol")).to_contain_text("Changed the wording of “Video”")

    page.get_by_role("link", name="Change how long an answer lasts").click()
    checked(page)
    page.get_by_label("While the child is at the school").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/staff/consent-settings")
    checked(page)
    expect(page.locator("#rules + dl")).to_contain_text("While the child is at the school")
    expect(page.locator("#validity-changed")).to_contain_text("Last changed by Priya Shah on")

    # A mistake comes back with its message and what was typed; the other pages pass axe too.
    page.get_by_role("link", name="Add a use").click()
    checked(page)
    page.get_by_label("Name").fill("School trips")
    page.get_by_role("button", name="Add this use").click()
    checked(page)
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the words parents")
    expect(page.get_by_label("Name")).to_have_value("School trips")
    page.get_by_label("What parents read").fill("Photos from trips.")
    page.get_by_label("No").check()
    page.get_by_role("button", name="Add this use").click()
    checked(page)
    expect(page.locator(".govuk-error-summary")).to_contain_text("There is already a use called")
    expect(page.get_by_label("What parents read")).to_have_value("Photos from trips.")
    page.goto("/staff/consent-settings/safeguarding")
    checked(page)
    page.goto("/staff/consent-settings")
    if TAKE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=SCREENSHOTS / "consent-settings-1280.png", full_page=True, animations="disabled"
        )

    # The office's answers form shows the new wording; the old answers still count.
    page.context.clear_cookies()
    sign_in(page, OFFICE)
    engine = make_engine(own_demo_server.settings.database_url)
    with Session(engine) as session:
        amelia = session.scalar(select(Pupil.id).where(Pupil.mis_id == "B3001"))
    engine.dispose()
    page.goto(f"/staff/pupils/{amelia}/answers")
    checked(page)
    expect(page.locator("main")).to_contain_text("such as the school play, shared with parents")
    page.goto(f"/staff/pupils/{amelia}")
    video_now = page.locator("#decisions tbody tr", has_text="Video")
    expect(video_now).to_contain_text("Consent given")
