"""Delegation in a real Chromium: the head gives a stage 1 complaint to the deputy head (a senior
leader), who sees only that case, writes the letter as a draft, previews it and sends it; the
parent's letter is signed by the head. axe-core checks every staff page on the way."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import PageMaker, assert_accessible, sign_in
from tests.browser.test_campaign_journey import send_complaint
from tests.browser.test_complaints_journey import on_page

OFFICE = "office@brookfield-primary.example"
HEAD = "head@brookfield-primary.example"
DEPUTY = "deputy@brookfield-primary.example"
DECISION = "The trip list was made before your payment reached us. Your son is now on it."


def test_the_head_delegates_and_the_senior_leader_drafts_previews_and_sends(
    new_page: PageMaker,
) -> None:
    parent = new_page(js=True)
    reference, link = send_complaint(
        parent, "Nia Delegation", "nia.delegation@example.com", check_pages=False
    )

    office = new_page(js=True)
    sign_in(office, OFFICE)
    office.goto(f"/staff/complaints/{reference}")
    office.get_by_label("A stage 1 complaint (formal)").check()
    office.get_by_label("Handler", exact=True).select_option(label="David Morgan")
    office.get_by_role("button", name="Save and tell the handler").click()
    office.wait_for_url(f"**/staff/complaints/{reference}?done=triage")

    # --- the head gives the case to the deputy head ---------------------------------------
    head = new_page(js=True)
    sign_in(head, HEAD)
    head.goto(f"/staff/complaints/{reference}")
    on_page(head, f"Case {reference}")
    delegation = head.locator("#delegation")
    delegation.get_by_label("Give it to").select_option(label="Daniel Mensah")
    delegation.get_by_label("Note for them (optional)").fill("Please check the payments log.")
    delegation.get_by_role("button", name="Give them the case").click()
    head.wait_for_url(f"**/staff/complaints/{reference}?done=delegate")
    expect(head.locator("#delegated-to")).to_contain_text("Daniel Mensah is looking into this")
    on_page(head, f"Case {reference}")

    # --- the deputy sees only this case, drafts, previews and sends -----------------------
    deputy = new_page(js=True)
    sign_in(deputy, DEPUTY)
    deputy.goto("/staff/complaints")
    on_page(deputy, "Complaints")
    # Only the cases given to him: this one and the demo's, none of the head's others.
    queue = deputy.locator("#queue tbody tr[data-reference]")
    expect(queue).to_have_count(2)
    expect(deputy.locator("#queue")).not_to_contain_text("Priti Desai")
    deputy.locator("#queue").get_by_role("link", name=reference).click()
    deputy.wait_for_url(f"**/staff/complaints/{reference}")
    on_page(deputy, f"Case {reference}")
    expect(deputy.locator("#delegated-to")).to_contain_text("You are looking into this case")
    letter = deputy.locator(f"form[action='/staff/complaints/{reference}/letter']")
    letter.get_by_label("What we looked into").fill(
        "I checked the payments log with the office and spoke to the Year 4 team."
    )
    letter.get_by_role("button", name="Save the draft").click()
    deputy.wait_for_url(f"**/staff/complaints/{reference}?done=letter#letter")
    expect(deputy.locator("#letter")).to_contain_text("Draft saved")
    assert_accessible(deputy)
    letter = deputy.locator(f"form[action='/staff/complaints/{reference}/letter']")
    expect(letter.get_by_label("What we looked into")).to_have_value(
        "I checked the payments log with the office and spoke to the Year 4 team."
    )
    letter.get_by_label("Upheld", exact=True).check()
    letter.get_by_label("Our decision and the reasons for it").fill(DECISION)
    letter.get_by_role("button", name="Preview the letter").click()
    deputy.wait_for_url(f"**/staff/complaints/{reference}/letter")
    on_page(deputy, "Check the stage 1 response letter before you send it")
    preview = deputy.locator(".school-letter")
    expect(preview).to_contain_text(DECISION)
    expect(preview).to_contain_text("David Morgan")
    expect(preview).not_to_contain_text("Daniel Mensah")
    deputy.set_viewport_size({"width": 320, "height": 640})
    assert deputy.evaluate("document.documentElement.scrollWidth") <= 320
    deputy.set_viewport_size({"width": 1280, "height": 900})
    with deputy.expect_download() as draft_pdf:
        deputy.get_by_role("link", name="Download the letter as a PDF").click()
    assert draft_pdf.value.suggested_filename == f"{reference}-draft-letter.pdf"
    deputy.get_by_role("button", name="Send the letter").click()
    deputy.wait_for_url(f"**/staff/complaints/{reference}?done=respond")
    expect(deputy.locator(".govuk-notification-banner")).to_contain_text("Letter sent.")
    on_page(deputy, f"Case {reference}")

    # --- the parent reads the letter, signed by the head -----------------------------------
    parent.goto(link)
    on_page(parent, f"Your complaint {reference}")
    answer = parent.locator(".school-message", has_text="Letter: our response to your complaint")
    expect(answer).to_contain_text(DECISION)
    expect(answer).to_contain_text("David Morgan")
    expect(answer).not_to_contain_text("Daniel Mensah")
