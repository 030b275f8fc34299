"""The Complaints Procedure from end to end in a real Chromium: a parent raises a formal complaint
with a file, the office sorts it, the head answers it, the parent asks for the governors' panel,
the clerk records the panel and sends its decision, and the parent reads and downloads the final
letter. axe-core checks every page on the way.

A shorter run without JavaScript covers an anonymous concern and its private link.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import TITLE_SUFFIX, PageMaker, assert_accessible, sign_in
from tests.clocks import TEST_NOW

OFFICE = "office@brookfield-primary.example"
HEAD = "head@brookfield-primary.example"
CLERK = "clerk@brookfield-primary.example"
PANEL = ["Aisha Rahman", "Mark Ellis", "Sarah Lee"]

PARENT_NAME = "Grace Whitfield"
PARENT_EMAIL = "grace.whitfield@example.com"
WHAT_HAPPENED = (
    "My daughter Mia was kept in at lunch for the whole week by her teacher, Miss Hughes, "
    "because she forgot her reading book. Nobody told me."
)
FILE_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
STAGE1_DECISION = "Keeping Mia in all week was too much, and we should have told you at once."
ESCALATION_REASONS = "The letter does not say what will change for Mia's class next term."
PANEL_DECISION = "The panel agrees with the head teacher and has asked for a new lunchtime rule."


def pdf_text(content: bytes) -> str:
    """The words drawn on an uncompressed PDF's pages, as one line."""
    shown = re.findall(rb"\((.*?)(?<!\\)\) Tj", content)
    words = " ".join(part.decode("latin-1") for part in shown)
    return re.sub(r"\s+", " ", words.replace("\\(", "(").replace("\\)", ")"))


def continue_(page: Page) -> None:
    page.get_by_role("button", name="Continue", exact=True).click()


def on_page(page: Page, heading: str, *, axe: bool = True) -> None:
    """The page has loaded with this one h1 and a title of the same words, and passes axe."""
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_have_text(heading)
    expect(page).to_have_title(heading + TITLE_SUFFIX)
    if axe:
        assert_accessible(page)


def test_formal_complaint_from_form_to_governors_panel(new_page: PageMaker, tmp_path: Path) -> None:
    # --- the parent sends a formal complaint, with a file --------------------------------
    parent = new_page(js=True)
    parent.goto("/")
    assert_accessible(parent)
    parent.get_by_role("link", name="Raise a concern or complaint", exact=True).click()
    parent.wait_for_url("**/complaints/new")
    on_page(parent, "Raise a concern or make a complaint")
    parent.get_by_role("button", name="Start now").click()

    parent.wait_for_url("**/complaints/new/kind")
    on_page(parent, "Is this a concern or a formal complaint?")
    parent.get_by_label("A formal complaint").check()
    continue_(parent)

    parent.wait_for_url("**/complaints/new/about")
    on_page(parent, "Who is your concern or complaint about?")
    parent.get_by_label("A member of staff").check()
    parent.get_by_label("Their name (if you know it)").fill("Miss Hughes")
    continue_(parent)

    parent.wait_for_url("**/complaints/new/category")
    on_page(parent, "What is it about?")
    parent.get_by_label("Behaviour and bullying").check()
    continue_(parent)

    parent.wait_for_url("**/complaints/new/what-happened")
    on_page(parent, "What happened?")
    happened = TEST_NOW.date() - timedelta(days=4)
    parent.get_by_label("What happened?").fill(WHAT_HAPPENED)
    parent.get_by_label("Day").fill(str(happened.day))
    parent.get_by_label("Month").fill(str(happened.month))
    parent.get_by_label("Year").fill(str(happened.year))
    continue_(parent)

    parent.wait_for_url("**/complaints/new/done-so-far")
    on_page(parent, "What have you done so far to sort it out? (optional)")
    parent.get_by_label("What have you done so far").fill("I emailed the class teacher on Friday.")
    continue_(parent)

    parent.wait_for_url("**/complaints/new/put-right")
    on_page(parent, "What would put it right? (optional)")
    parent.get_by_label("What would put it right").fill("An apology, and a fairer rule.")
    continue_(parent)

    parent.wait_for_url("**/complaints/new/attachments")
    on_page(parent, "Add photos or documents (optional)")
    letter_file = tmp_path / "teacher-email.pdf"
    letter_file.write_bytes(FILE_BYTES)
    parent.get_by_label("Choose a file").set_input_files(letter_file)
    parent.get_by_role("button", name="Add this file").click()
    expect(parent.locator("main dl.govuk-summary-list")).to_contain_text("teacher-email.pdf")
    assert_accessible(parent)
    continue_(parent)

    parent.wait_for_url("**/complaints/new/contact")
    on_page(parent, "Your contact details")
    parent.get_by_label("Full name").fill(PARENT_NAME)
    parent.get_by_label("Email address").fill(PARENT_EMAIL)
    parent.get_by_label("Phone number (optional)").fill("07700 900982")
    parent.get_by_label("Your child's name (optional)").fill("Mia Whitfield")
    continue_(parent)

    parent.wait_for_url("**/complaints/new/check")
    on_page(parent, "Check your answers before sending")
    answers = parent.locator("main")
    for shown in (
        "A formal complaint",
        "A member of staff: Miss Hughes",
        "Behaviour and bullying",
        WHAT_HAPPENED,
        "teacher-email.pdf",
        PARENT_EMAIL,
    ):
        expect(answers).to_contain_text(shown)
    parent.get_by_role("button", name="Send", exact=True).click()

    parent.wait_for_url("**/complaints/new/done")
    on_page(parent, "Complaint sent")
    reference = parent.locator(".govuk-panel__body strong").inner_text().strip()
    assert re.fullmatch(r"C-[0-9A-Z]{4}-[0-9A-Z]{3}", reference), reference
    private_link = parent.locator("#private-link").get_attribute("href") or ""
    assert re.match(r"^http://127\.0\.0\.1:\d+/track/[\w-]+$", private_link), private_link
    expect(parent.locator("main")).to_contain_text(PARENT_EMAIL)

    # --- the office finds it in the queue and sorts it: stage 1, to the head -------------
    office = new_page(js=True)
    sign_in(office, OFFICE)
    office.goto("/staff/complaints")
    on_page(office, "Complaints")
    office.get_by_text("Filter and search").click()
    office.get_by_label("Search").fill(reference)
    office.get_by_role("button", name="Show cases").click()
    office.wait_for_url(re.compile(r"/staff/complaints\?q="))
    rows = office.locator("#queue tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(PARENT_NAME)
    assert_accessible(office)
    rows.get_by_role("link", name=reference).click()

    office.wait_for_url(f"**/staff/complaints/{reference}")
    on_page(office, f"Case {reference}")
    expect(office.locator("#parent-answers")).to_contain_text(WHAT_HAPPENED)
    file_link = office.locator("#attachments").get_by_role("link", name="teacher-email.pdf")
    with office.expect_download() as staff_download:
        file_link.click()
    assert Path(staff_download.value.path()).read_bytes() == FILE_BYTES

    office.get_by_label("A stage 1 complaint (formal)").check()
    expect(office.get_by_label("Category", exact=True)).to_have_value("Behaviour and bullying")
    office.get_by_label("Handler", exact=True).select_option(label="David Morgan")
    office.get_by_role("button", name="Save and tell the handler").click()
    office.wait_for_url(f"**/staff/complaints/{reference}?done=triage")
    expect(office.locator(".govuk-notification-banner")).to_contain_text("Case sorted.")
    expect(office.locator("#case-facts")).to_contain_text("David Morgan")
    on_page(office, f"Case {reference}")

    # --- the head sends the stage 1 response ---------------------------------------------
    head = new_page(js=True)
    sign_in(head, HEAD)
    head.goto("/staff/complaints")
    assert_accessible(head)
    head.locator("#queue").get_by_role("link", name=reference).click()
    head.wait_for_url(f"**/staff/complaints/{reference}")
    on_page(head, f"Case {reference}")
    respond = head.locator(f"form[action='/staff/complaints/{reference}/letter']")
    respond.get_by_label("Partly upheld").check()
    respond.get_by_label("What we looked into").fill(
        "I spoke to Miss Hughes and read the class behaviour log for the week."
    )
    respond.get_by_label("Our decision and the reasons for it").fill(STAGE1_DECISION)
    respond.get_by_label("What we will do").fill("Staff will phone parents the same day.")
    respond.get_by_role("button", name="Preview the letter").click()
    head.wait_for_url(f"**/staff/complaints/{reference}/letter")
    expect(head.locator(".school-letter")).to_contain_text(STAGE1_DECISION)
    on_page(head, "Check the stage 1 response letter before you send it")
    head.get_by_role("button", name="Send the letter").click()
    head.wait_for_url(f"**/staff/complaints/{reference}?done=respond")
    expect(head.locator(".govuk-notification-banner")).to_contain_text("Letter sent.")
    on_page(head, f"Case {reference}")

    # --- the parent reads the letter and asks for the governors' panel -------------------
    parent.goto(private_link)
    on_page(parent, f"Your complaint {reference}")
    letter = parent.locator(".school-message", has_text="Letter: our response to your complaint")
    expect(letter).to_contain_text("Outcome: Partly upheld.")
    expect(letter).to_contain_text(STAGE1_DECISION)
    expect(letter).to_contain_text("panel of governors (stage 2)")
    parent.get_by_label("Why are you not happy with our response?").fill(ESCALATION_REASONS)
    parent.get_by_role("button", name="Ask for the governors' panel").click()
    parent.wait_for_url("**?escalated=1")
    expect(parent.locator(".govuk-notification-banner")).to_contain_text("We have your request.")
    expect(parent.locator(".govuk-caption-l")).to_have_text("Stage 2 (governors' panel)")
    on_page(parent, f"Your complaint {reference}")

    # --- the clerk records the panel and sends its decision ------------------------------
    clerk = new_page(js=True)
    sign_in(clerk, CLERK)
    clerk.goto("/staff/complaints")
    assert_accessible(clerk)
    clerk.locator("#queue").get_by_role("link", name=reference).click()
    clerk.wait_for_url(f"**/staff/complaints/{reference}")
    on_page(clerk, f"Case {reference}")
    hearing = TEST_NOW.date()  # the panel meets today: its outcome can be sent after it
    panel = clerk.locator(f"form[action='/staff/complaints/{reference}/panel']")
    panel.get_by_label("Day").fill(str(hearing.day))
    panel.get_by_label("Month").fill(str(hearing.month))
    panel.get_by_label("Year").fill(str(hearing.year))
    for number, governor in enumerate(PANEL, start=1):
        panel.get_by_label(f"Member {number}").select_option(label=governor)
    panel.get_by_label("Papers given to the panel (optional)").fill(
        "The complaint, the stage 1 letter and the behaviour policy."
    )
    panel.get_by_role("button", name="Save the panel").click()
    clerk.wait_for_url(f"**/staff/complaints/{reference}?done=panel")
    expect(clerk.locator(".govuk-notification-banner")).to_contain_text("Panel recorded.")
    expect(clerk.locator("#panel")).to_contain_text(", ".join(PANEL))
    on_page(clerk, f"Case {reference}")

    outcome = clerk.locator(f"form[action='/staff/complaints/{reference}/letter']")
    outcome.get_by_label("Upheld", exact=True).check()
    outcome.get_by_label("What we looked into").fill(
        "The panel read the complaint and the letter, and heard from the parent and the head."
    )
    outcome.get_by_label("Our decision and the reasons for it").fill(PANEL_DECISION)
    outcome.get_by_role("button", name="Preview the letter").click()
    clerk.wait_for_url(f"**/staff/complaints/{reference}/letter")
    on_page(clerk, "Check the panel's outcome letter before you send it")
    clerk.get_by_role("button", name="Send the letter").click()
    clerk.wait_for_url(f"**/staff/complaints/{reference}?done=outcome")
    expect(clerk.locator(".govuk-notification-banner")).to_contain_text("Panel outcome sent.")
    expect(clerk.locator("#case-status")).to_contain_text("Closed")
    on_page(clerk, f"Case {reference}")

    # --- the parent reads and downloads the final letter ---------------------------------
    parent.goto(private_link)
    on_page(parent, f"Your complaint {reference}")
    main = parent.locator("main")
    expect(main).to_contain_text("This is the end of the school's complaints procedure.")
    final = parent.locator(".school-message", has_text="Letter: the governors' panel's decision")
    expect(final).to_contain_text(PANEL_DECISION)
    expect(final).to_contain_text("Aisha Rahman, Mark Ellis, Sarah Lee")
    expect(final).to_contain_text("Department for Education")
    expect(main).to_contain_text("If you think the school did not follow its procedure")
    expect(parent.get_by_role("button", name="Ask for the governors' panel")).to_have_count(0)
    expect(parent.get_by_role("button", name="Send message")).to_have_count(0)
    download_link = final.get_by_role("link", name=re.compile("^Download as PDF"))
    with parent.expect_download() as letter_download:
        download_link.click()
    pdf = Path(letter_download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF"), pdf[:20]
    assert letter_download.value.suggested_filename.endswith(".pdf")
    words = pdf_text(pdf)
    assert reference in words
    assert "Department for Education" in words


def test_anonymous_concern_without_javascript(new_page: PageMaker) -> None:
    """The parent's part with JavaScript off. The question pages themselves are checked with axe
    without JavaScript in test_complaint_pages.py; here axe checks what differs for an
    anonymous parent: the answers, the confirmation with its private link, and the case page."""
    parent = new_page(js=False)
    parent.goto("/")
    parent.get_by_role("link", name="Raise a concern or complaint", exact=True).click()
    on_page(parent, "Raise a concern or make a complaint", axe=False)
    parent.get_by_role("button", name="Start now").click()

    on_page(parent, "Is this a concern or a formal complaint?", axe=False)
    parent.get_by_label("A concern", exact=True).check()
    continue_(parent)
    on_page(parent, "Who is your concern or complaint about?", axe=False)
    parent.get_by_label("The school in general").check()
    continue_(parent)
    on_page(parent, "What is it about?", axe=False)
    parent.get_by_label("Premises and safety").check()
    continue_(parent)
    on_page(parent, "What happened?", axe=False)
    parent.get_by_label("What happened?").fill(
        "Cars park on the zig-zag lines outside the main gate at home time every day."
    )
    continue_(parent)
    for heading in (
        "What have you done so far to sort it out? (optional)",
        "What would put it right? (optional)",
        "Add photos or documents (optional)",
    ):
        on_page(parent, heading, axe=False)
        continue_(parent)
    on_page(parent, "Your contact details", axe=False)
    parent.get_by_label("I want to stay anonymous").check()
    continue_(parent)

    on_page(parent, "Check your answers before sending")
    expect(parent.locator("main")).to_contain_text("You are staying anonymous")
    expect(parent.locator("main")).not_to_contain_text("Email address")
    parent.get_by_role("button", name="Send", exact=True).click()

    parent.wait_for_url("**/complaints/new/done")
    on_page(parent, "Concern sent")
    expect(parent.get_by_role("heading", name="Keep this link")).to_be_visible()
    reference = parent.locator(".govuk-panel__body strong").inner_text().strip()
    assert re.fullmatch(r"C-[0-9A-Z]{4}-[0-9A-Z]{3}", reference), reference
    link = parent.locator("#private-link")
    private_link = link.get_attribute("href") or ""
    expect(link).to_have_text(private_link)
    assert re.match(r"^http://127\.0\.0\.1:\d+/track/[\w-]+$", private_link), private_link

    link.click()
    parent.wait_for_url(private_link)
    on_page(parent, f"Your concern {reference}")
    expect(parent.locator("#status")).to_be_visible()
    expect(parent.locator("main")).to_contain_text("We have your concern.")
