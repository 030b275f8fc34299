"""A campaign in a real Chromium: three parents complain about the same thing; the office links the
second and third to the first before sorting anything; the head answers the lead once; every
parent gets the stage 1 letter; one escalates, the clerk arranges the panel, and every parent is
told the hearing (tracking page and email). axe-core checks every page on the way."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select
from sqlmodel import Session

from portal.mail import OutboxMessage
from tests.browser.conftest import PageMaker, assert_accessible, sign_in
from tests.browser.test_complaints_journey import continue_, on_page
from tests.clocks import TEST_NOW

OFFICE = "office@brookfield-primary.example"
HEAD = "head@brookfield-primary.example"
CLERK = "clerk@brookfield-primary.example"
PANEL = ["Aisha Rahman", "Mark Ellis", "Sarah Lee"]
PARENTS = [
    ("Priya Campaign", "priya.campaign@example.com"),
    ("Tom Campaign", "tom.campaign@example.com"),
    ("Ola Campaign", "ola.campaign@example.com"),
]
WHAT_HAPPENED = (
    "The school has stopped the hot lunch choice for Year 4 with no letter to parents. "
    "My son now goes hungry two days a week."
)
DECISION = "We stopped the choice too quickly and did not tell you. It comes back next week."


def send_complaint(parent: Page, name: str, email: str, *, check_pages: bool) -> tuple[str, str]:
    """One parent's formal complaint about the school, through every page of the form."""
    parent.goto("/complaints/new")
    if check_pages:
        assert_accessible(parent)
    parent.get_by_role("button", name="Start now").click()
    parent.wait_for_url("**/complaints/new/kind")
    parent.get_by_label("A formal complaint").check()
    continue_(parent)
    parent.wait_for_url("**/complaints/new/about")
    parent.get_by_label("The school in general").check()
    continue_(parent)
    parent.wait_for_url("**/complaints/new/category")
    parent.get_by_label("Food and lunchtimes").check()
    continue_(parent)
    parent.wait_for_url("**/complaints/new/what-happened")
    parent.get_by_label("What happened?").fill(WHAT_HAPPENED)
    continue_(parent)
    parent.wait_for_url("**/complaints/new/done-so-far")
    continue_(parent)
    parent.wait_for_url("**/complaints/new/put-right")
    continue_(parent)
    parent.wait_for_url("**/complaints/new/attachments")
    continue_(parent)
    parent.wait_for_url("**/complaints/new/contact")
    parent.get_by_label("Full name").fill(name)
    parent.get_by_label("Email address").fill(email)
    continue_(parent)
    parent.wait_for_url("**/complaints/new/check")
    if check_pages:
        assert_accessible(parent)
    parent.get_by_role("button", name="Send", exact=True).click()
    parent.wait_for_url("**/complaints/new/done")
    on_page(parent, "Complaint sent", axe=check_pages)
    reference = parent.locator(".govuk-panel__body strong").inner_text().strip()
    link = parent.locator("#private-link").get_attribute("href") or ""
    assert re.fullmatch(r"C-[0-9A-Z]{4}-[0-9A-Z]{3}", reference), reference
    return reference, link


def subjects_to(database_url: str, email: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            return list(
                session.scalars(
                    select(OutboxMessage.subject)
                    .where(OutboxMessage.to_address == email)
                    .order_by(OutboxMessage.id)
                )
            )
    finally:
        engine.dispose()


def test_a_campaign_linked_before_sorting_is_answered_and_heard_together(
    new_page: PageMaker, live_database_url: str
) -> None:
    parent = new_page(js=True)
    cases = [
        send_complaint(parent, name, email, check_pages=number == 0)
        for number, (name, email) in enumerate(PARENTS)
    ]
    (lead, lead_link), *others = cases

    # --- the office links the second and third to the first, before sorting any of them ---
    office = new_page(js=True)
    sign_in(office, OFFICE)
    for reference, _link in others:
        office.goto(f"/staff/complaints/{reference}")
        on_page(office, f"Case {reference}")
        link_form = office.locator(f"form[action='/staff/complaints/{reference}/link']")
        link_form.get_by_label("Reference of the lead case").fill(lead)
        link_form.get_by_role("button", name="Link the cases").click()
        office.wait_for_url(f"**/staff/complaints/{reference}?done=link")
        expect(office.locator(".govuk-notification-banner")).to_contain_text("Case linked.")
        assert_accessible(office)

    office.goto(f"/staff/complaints/{lead}")
    on_page(office, f"Case {lead}")
    office.get_by_label("A stage 1 complaint (formal)").check()
    office.get_by_label("Handler", exact=True).select_option(label="David Morgan")
    office.get_by_role("button", name="Save and tell the handler").click()
    office.wait_for_url(f"**/staff/complaints/{lead}?done=triage")
    assert_accessible(office)

    # --- the head answers the lead once: a draft, its preview, then send -----------------
    head = new_page(js=True)
    sign_in(head, HEAD)
    head.goto(f"/staff/complaints/{lead}")
    on_page(head, f"Case {lead}")
    expect(head.locator("main")).to_contain_text("2 linked cases will get the same letter.")
    letter = head.locator(f"form[action='/staff/complaints/{lead}/letter']")
    letter.get_by_label("Upheld", exact=True).check()
    letter.get_by_label("What we looked into").fill(
        "I read the kitchen's menu changes and spoke to the catering manager."
    )
    letter.get_by_label("Our decision and the reasons for it").fill(DECISION)
    letter.get_by_role("button", name="Preview the letter").click()
    head.wait_for_url(f"**/staff/complaints/{lead}/letter")
    on_page(head, "Check the stage 1 response letter before you send it")
    expect(head.locator("main")).to_contain_text("2 linked cases will get the same letter")
    head.get_by_role("button", name="Send the letter").click()
    head.wait_for_url(f"**/staff/complaints/{lead}?done=respond")

    # --- every parent reads the stage 1 letter, addressed to them ------------------------
    for (reference, link), (name, email) in zip(cases, PARENTS, strict=True):
        parent.goto(link)
        on_page(parent, f"Your complaint {reference}")
        answer = parent.locator(
            ".school-message", has_text="Letter: our response to your complaint"
        )
        expect(answer).to_contain_text(f"Dear {name}")
        expect(answer).to_contain_text(DECISION)
        assert f"Our response to your complaint {reference}" in subjects_to(
            live_database_url, email
        )

    # --- the first parent asks for the panel; the clerk arranges it ----------------------
    parent.goto(lead_link)
    parent.get_by_label("Why are you not happy with our response?").fill(
        "A week's notice is not enough: I want the menu decided with parents."
    )
    parent.get_by_role("button", name="Ask for the governors' panel").click()
    parent.wait_for_url("**?escalated=1")
    assert_accessible(parent)

    clerk = new_page(js=True)
    sign_in(clerk, CLERK)
    clerk.goto(f"/staff/complaints/{lead}")
    on_page(clerk, f"Case {lead}")
    hearing = TEST_NOW.date()
    panel = clerk.locator(f"form[action='/staff/complaints/{lead}/panel']")
    panel.get_by_label("Day").fill(str(hearing.day))
    panel.get_by_label("Month").fill(str(hearing.month))
    panel.get_by_label("Year").fill(str(hearing.year))
    panel.get_by_label("Time (optional)").fill("18:00")
    panel.get_by_label("Where, or how to join (optional)").fill("The school library")
    for number, governor in enumerate(PANEL, start=1):
        panel.get_by_label(f"Member {number}").select_option(label=governor)
    panel.get_by_role("button", name="Save the panel").click()
    clerk.wait_for_url(f"**/staff/complaints/{lead}?done=panel")
    assert_accessible(clerk)

    # --- every parent is told the hearing: on the tracking page and by email -------------
    for (reference, link), (_name, email) in zip(cases, PARENTS, strict=True):
        parent.goto(link)
        on_page(parent, f"Your complaint {reference}")
        hearing_section = parent.locator("main")
        expect(hearing_section).to_contain_text("Your panel hearing")
        expect(hearing_section).to_contain_text("The school library")
        expect(hearing_section).to_contain_text(", ".join(PANEL))
        subjects = subjects_to(live_database_url, email)
        assert any("panel" in subject.lower() for subject in subjects[-2:]), subjects
