"""A parent following their case: finding it, reading it, replying, withdrawing, escalating."""

from __future__ import annotations

import functools
import io
import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from PIL import Image
from sqlalchemy import select

from portal.complaints import services
from portal.complaints.models import (
    Attachment,
    Complaint,
    ComplaintMessage,
    DeadlineKind,
    MessageKind,
    Outcome,
    Stage,
    Status,
)
from portal.complaints.services import Letter
from portal.mail import OutboxMessage
from tests.conftest import csrf_of, page, post_form, text_of
from tests.factories import make_case_with_link

EMAIL = "Sam.Parent@example.com"
LETTER = Letter(
    outcome=Outcome.partly_upheld,
    investigated="We spoke to the class teacher and read the behaviour log.",
    decision="The incident was handled, but we did not tell you soon enough.",
    actions="We will phone parents the same day in future.",
)
PANEL_LETTER = Letter(
    outcome=Outcome.not_upheld,
    investigated="The panel read the papers and heard from both sides.",
    decision="The school followed its behaviour policy and told you on the day.",
    actions="",
)
NOT_FOUND = "We could not find a case with that reference and email address."


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "purple").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _attachments_in_tmp(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.attachments_dir = tmp_path / "attachments"


def tracked_cases(session, settings, cast):  # type: ignore[no-untyped-def]
    """`cases("responded", **answers)`: a case at that state and its private link's token, with
    the head as handler and this module's letters."""
    return functools.partial(
        make_case_with_link,
        session,
        settings,
        cast,
        handler=cast.head,
        sorted_by=cast.office,
        response=LETTER,
        panel_outcome=PANEL_LETTER,
        parent_email=EMAIL,
    )


@pytest.fixture
def cases(db_session, settings, cast):  # type: ignore[no-untyped-def]
    return tracked_cases(db_session, settings, cast)


def find(client, reference: str, email: str):  # type: ignore[no-untyped-def]
    return post_form(client, "/track", {"reference": reference, "email": email})


def emails_to(db_session, address: str) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    return list(
        db_session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.to_address == address)
            .order_by(OutboxMessage.id)
        )
    )


def fresh(db_session, case: Complaint) -> Complaint:  # type: ignore[no-untyped-def]
    db_session.expire_all()
    return db_session.get(Complaint, case.id)


# ---------------------------------------------------------------- finding a case


def test_the_form_asks_for_reference_and_email_and_mentions_the_link(client):
    response = client.get("/track")
    assert response.status_code == 200
    html = page(response)
    assert html.select_one("h1").text.strip() == "Check your concern or complaint"
    assert html.select_one("label[for=reference]") and html.select_one("label[for=email]")
    assert "private link" in text_of(response)


def test_reference_and_email_open_the_case_forgiving_capitals_and_dashes(client, cases):
    case, _ = cases("new")
    typed_reference = case.reference.lower().replace("-", "")
    response = find(client, typed_reference, "  SAM.parent@EXAMPLE.com ")
    assert response.status_code == 303
    assert response.headers["location"] == "/track/case"
    cookie = response.headers["set-cookie"]
    assert "portal_track=" in cookie
    assert "HttpOnly" in cookie and "Path=/track" in cookie and "SameSite=lax" in cookie
    shown = client.get("/track/case")
    assert shown.status_code == 200
    html = page(shown)
    assert html.select_one("h1").text.strip() == f"Your complaint {case.reference}"
    assert html.select_one("title").text.startswith(f"Your complaint {case.reference} – ")
    assert html.select_one("meta[name=robots]")["content"] == "noindex, nofollow"
    assert shown.headers["cache-control"] == "no-store"
    assert "We will tell you who is looking into it by" in text_of(shown)


def test_missing_answers_are_explained(client):
    response = find(client, "", "")
    assert response.status_code == 422
    links = [a["href"] for a in page(response).select(".govuk-error-summary a")]
    assert links == ["#reference", "#email"]


def test_wrong_email_and_unknown_reference_read_exactly_the_same(client, cases):
    case, _ = cases("new")
    wrong_email = find(client, case.reference, "someone.else@example.com")
    unknown_reference = find(client, "C-2345-678", EMAIL)
    assert wrong_email.status_code == unknown_reference.status_code == 422
    assert NOT_FOUND in text_of(wrong_email)
    assert text_of(wrong_email) == text_of(unknown_reference)
    assert "portal_track" not in wrong_email.headers.get("set-cookie", "")
    assert page(wrong_email).select_one("#email")["value"] == "someone.else@example.com"


def test_too_many_wrong_tries_from_one_address_are_refused(client, cases, settings):
    settings.track_attempts_per_hour_per_address = 3
    case, _ = cases("new")
    for _ in range(3):
        assert find(client, case.reference, "guess@example.com").status_code == 422
    refused = find(client, case.reference, "guess@example.com")
    assert refused.status_code == 429
    assert "tried too many times" in text_of(refused)
    # Even the right answer waits, so the limit cannot be used to confirm a guess.
    assert find(client, case.reference, EMAIL).status_code == 429


def test_the_private_link_shows_the_case(client, cases):
    case, token = cases("new", formal=False)
    response = client.get(f"/track/{token}")
    assert response.status_code == 200
    html = page(response)
    assert html.select_one("h1").text.strip() == f"Your concern {case.reference}"
    assert html.select_one("meta[name=robots]")["content"] == "noindex, nofollow"
    assert response.headers["cache-control"] == "no-store"


def test_a_wrong_private_link_reveals_nothing(client, cases):
    case, token = cases("new")
    response = client.get(f"/track/{token[:-2]}xx")
    assert response.status_code == 404
    assert page(response).select_one("h1").text.strip() == "Page not found"
    assert case.reference not in response.text


def test_the_case_page_needs_the_cookie_or_the_link(client, cases):
    assert client.get("/track/case", follow_redirects=False).headers["location"] == "/track"
    client.cookies.set("portal_track", "1.99999999999.forged", path="/track")
    assert client.get("/track/case", follow_redirects=False).headers["location"] == "/track"


def test_the_token_is_never_in_a_query_string(client, cases):
    _, token = cases("responded")
    html = page(client.get(f"/track/{token}"))
    targets = [a["href"] for a in html.select("a[href]")] + [
        form["action"] for form in html.select("form[action]")
    ]
    assert any(token in urlsplit(target).path for target in targets)
    assert not any(token in urlsplit(target).query for target in targets)


def test_leaving_forgets_the_case_on_this_device(client, cases):
    case, _ = cases("new")
    find(client, case.reference, EMAIL)
    shown = client.get("/track/case")
    response = client.post(
        "/track/case/leave", data={"csrf_token": csrf_of(shown)}, follow_redirects=False
    )
    assert response.headers["location"] == "/track?left=1"
    assert client.get("/track/case", follow_redirects=False).status_code == 303


# ---------------------------------------------------------------- reading the case


def test_parent_sees_messages_and_letters_in_order_but_never_internal_notes(
    client, cases, db_session, settings, cast
):
    case, token = cases("open")
    services.add_note(db_session, case, cast.head, "INTERNAL: the teacher was off sick.")
    services.send_message(
        db_session, settings, case, cast.head, "Could you tell us which day it was?"
    )
    db_session.commit()
    services.parent_reply(db_session, settings, case, "It was Friday 20 November.")
    services.respond(db_session, settings, case, cast.head, LETTER)
    db_session.commit()

    response = client.get(f"/track/{token}")
    assert "INTERNAL" not in response.text
    assert "teacher was off sick" not in response.text
    html = page(response)
    headings = [h.text.strip() for h in html.select(".school-message h3")]
    assert headings == [
        "Letter: we have received your complaint",
        "Message from the school",
        "Your message",
        "Letter: our response to your complaint",
    ]
    letter = html.select(".school-letter")[-1]  # the first is the acknowledgement
    assert "school-pre" in letter["class"]
    assert "What we looked into\nWe spoke to the class teacher" in letter.text
    pdf_links = [a["href"] for a in html.select("a[href$='.pdf']")]
    letter_row = db_session.scalars(
        select(ComplaintMessage).where(ComplaintMessage.kind == MessageKind.stage1_letter)
    ).one()
    assert pdf_links[-1] == f"/track/{token}/letters/{letter_row.id}.pdf"
    assert len(pdf_links) == 2  # the acknowledgement and the response
    assert "Download as PDF" in html.select_one("a[href$='.pdf']").text
    assert "you can ask for a governors' panel until" in text_of(response)


def test_a_deadline_says_what_happens_next_and_when(client, cases):
    _, token = cases("open")
    html = page(client.get(f"/track/{token}"))
    rows = {
        row.select_one("dt").text.strip(): row.select_one("dd").text.strip()
        for row in html.select(".govuk-summary-list:not(#your-answers) .govuk-summary-list__row")
    }
    assert rows == {
        "Next step": "We send you our reply",
        "Date": "Wednesday 9 December 2026",
    }


# ---------------------------------------------------------------- replying


def test_a_reply_is_stored_with_its_file_and_the_handler_is_told(client, cases, db_session, cast):
    case, token = cases("open")
    form_page = client.get(f"/track/{token}")
    response = client.post(
        f"/track/{token}/reply",
        data={"body": "Here is a photo of the bruise.", "csrf_token": csrf_of(form_page)},
        files={"attachment": ("bruise.png", png_bytes(), "image/png")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/track/{token}?replied=1"

    reply = db_session.scalars(
        select(ComplaintMessage).where(ComplaintMessage.kind == MessageKind.parent_reply)
    ).one()
    assert reply.body == "Here is a photo of the bruise."
    stored = db_session.scalars(select(Attachment)).one()
    assert (stored.complaint_id, stored.message_id) == (case.id, reply.id)
    assert [m.subject for m in emails_to(db_session, cast.head.email)][-1] == (
        f"The parent has replied on case {case.reference}"
    )

    shown = client.get(response.headers["location"])
    assert "Your message has been sent" in text_of(shown)
    link = page(shown).select_one(f"a[href='/track/{token}/attachments/{stored.id}']")
    assert link.text.strip() == "bruise.png"
    download = client.get(link["href"])
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="bruise.png"'


def test_a_reply_without_a_file_works(client, cases, db_session):
    _, token = cases("open")
    form_page = client.get(f"/track/{token}")
    response = client.post(
        f"/track/{token}/reply",
        data={"body": "Thank you.", "csrf_token": csrf_of(form_page)},
        files={"attachment": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert db_session.scalars(select(Attachment)).all() == []


def test_an_empty_reply_or_a_bad_file_is_explained_and_the_text_kept(client, cases, db_session):
    _, token = cases("open")
    response = post_form(
        client, f"/track/{token}/reply", {"body": "x"}, from_page=f"/track/{token}"
    )
    assert response.status_code == 422
    html = page(response)
    assert html.select_one(".govuk-error-summary a")["href"] == "#body"
    assert html.select_one("textarea#body").text == "x"
    assert html.select_one("title").text.startswith("Error: ")

    form_page = client.get(f"/track/{token}")
    bad_file = client.post(
        f"/track/{token}/reply",
        data={"body": "See the file.", "csrf_token": csrf_of(form_page)},
        files={"attachment": ("virus.exe", b"MZ\x90\x00not a document", "application/x-msdos")},
        follow_redirects=False,
    )
    assert bad_file.status_code == 422
    assert page(bad_file).select_one(".govuk-error-summary a")["href"] == "#attachment"
    assert page(bad_file).select_one("textarea#body").text == "See the file."
    assert (
        db_session.scalars(
            select(ComplaintMessage).where(ComplaintMessage.kind == "parent_reply")
        ).all()
        == []
    )


# ---------------------------------------------------------------- withdrawing


def test_withdrawing_asks_first_then_confirms_in_writing(client, cases, db_session):
    case, _ = cases("open")
    find(client, case.reference, EMAIL)
    confirm = client.get("/track/case/withdraw")
    assert confirm.status_code == 200
    assert page(confirm).select_one("h1").text.strip() == (
        "Are you sure you want to withdraw your complaint?"
    )
    response = post_form(
        client,
        "/track/case/withdraw",
        {"reason": "We sorted it out with the teacher."},
        from_page="/track/case/withdraw",
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/track/case?withdrawn=1"

    assert fresh(db_session, case).status == Status.withdrawn
    note = db_session.scalars(
        select(ComplaintMessage).where(ComplaintMessage.kind == MessageKind.withdrawal)
    ).one()
    assert "We sorted it out with the teacher." in note.body
    assert any(
        m.subject.startswith("You have withdrawn your complaint")
        for m in emails_to(db_session, EMAIL)
    )
    shown = client.get(response.headers["location"])
    text = text_of(shown)
    assert "You have withdrawn your complaint" in text
    assert "You withdrew this complaint" in text
    html = page(shown)
    assert html.select_one("textarea#body") is None
    assert html.select_one("a[href='/track/case/withdraw']") is None


def test_a_closed_case_cannot_be_withdrawn_again(client, cases, db_session, settings):
    case, token = cases("open")
    form_page = client.get(f"/track/{token}/withdraw")
    services.withdraw(db_session, settings, case, "")
    db_session.commit()
    response = client.post(
        f"/track/{token}/withdraw",
        data={"reason": "", "csrf_token": csrf_of(form_page)},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "already closed" in text_of(response)
    assert client.get(f"/track/{token}/withdraw", follow_redirects=False).status_code == 303


# ---------------------------------------------------------------- escalating


def test_asking_for_the_panel_inside_the_window_opens_stage_2(
    client, cases, db_session, cast, settings
):
    case, token = cases("responded")
    shown = client.get(f"/track/{token}")
    html = page(shown)
    assert html.select_one("#escalate").text.strip() == "Ask for the governors' panel"
    response = post_form(
        client,
        f"/track/{token}/escalate",
        {"reasons": "You did not explain why nobody phoned me."},
        from_page=f"/track/{token}",
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/track/{token}?escalated=1"

    case = fresh(db_session, case)
    assert (case.stage, case.status) == (Stage.stage2, Status.open)
    assert case.deadline_kind == DeadlineKind.panel
    assert case.deadline_school_days == 20
    # 20 school days from Wednesday 25 November 2026, skipping Christmas and an INSET day
    assert case.escalated_on == date(2026, 11, 25)
    assert case.next_deadline == date(2027, 1, 7)
    assert case.handler_user_id == cast.clerk.id
    assert any("stage 2" in m.subject for m in emails_to(db_session, cast.clerk.email))

    after = client.get(response.headers["location"])
    assert "Your case is now a stage 2 (governors' panel)" in text_of(after)
    assert "You will have the panel's decision by Thursday 7 January 2027" in text_of(after)
    assert page(after).select_one("#escalate") is None


def test_a_concern_can_become_a_formal_complaint(client, cases, db_session):
    case, token = cases("responded", formal=False)
    html = page(client.get(f"/track/{token}"))
    assert html.select_one("#escalate").text.strip() == "Make this a formal complaint"
    response = post_form(
        client,
        f"/track/{token}/escalate",
        {"reasons": "The reply did not say what will change."},
        from_page=f"/track/{token}",
    )
    assert response.status_code == 303
    case = fresh(db_session, case)
    assert (case.stage, case.status) == (Stage.stage1, Status.open)


def test_escalation_needs_reasons(client, cases):
    _, token = cases("responded")
    response = post_form(
        client, f"/track/{token}/escalate", {"reasons": "No"}, from_page=f"/track/{token}"
    )
    assert response.status_code == 422
    html = page(response)
    assert html.select_one(".govuk-error-summary a")["href"] == "#reasons"
    assert html.select_one("textarea#reasons").text == "No"


def test_escalation_after_the_window_is_refused_clearly(client, cases, db_session):
    case, token = cases("responded")
    form_page = client.get(f"/track/{token}")
    case.next_deadline = services.school_date(db_session) - timedelta(days=1)
    db_session.add(case)
    db_session.commit()
    response = client.post(
        f"/track/{token}/escalate",
        data={"reasons": "I am still not happy at all.", "csrf_token": csrf_of(form_page)},
        follow_redirects=False,
    )
    assert response.status_code == 422
    text = text_of(response)
    assert "The time to ask for the next stage has passed" in text
    assert "The time to ask for a governors' panel has passed" in text
    assert "Department for Education only looks at a school complaint after" in text
    html = page(response)
    assert html.select_one(".govuk-error-summary a")["href"] == "#reasons"
    assert html.select_one("#reasons") is not None
    assert html.select_one("textarea#reasons") is None
    assert fresh(db_session, case).stage == Stage.stage1


# ---------------------------------------------------------------- endings


def test_after_stage_2_the_procedure_is_complete(client, cases):
    _, token = cases("closed")
    response = client.get(f"/track/{token}")
    text = text_of(response)
    assert "This is the end of the school's complaints procedure" in text
    assert "Department for Education" in text
    html = page(response)
    assert html.select_one("textarea") is None
    assert len(html.select("a[href$='.pdf']")) == 3  # acknowledgement, response, panel outcome


def test_a_redirected_case_says_where_to_go(client, cases, db_session, settings, cast):
    case, token = cases("new", category="Something else")
    services.redirect_out_of_scope(
        db_session,
        settings,
        case,
        cast.office,
        procedure="admissions",
        reason="This is about a place for your younger child.",
    )
    db_session.commit()
    text = text_of(client.get(f"/track/{token}"))
    assert "It is about school admissions, which has its own procedure" in text
    assert "Admissions appeals go to the admission authority" in text


def test_a_persistent_case_says_the_procedure_is_exhausted(
    cast, client, cases, db_session, settings
):
    case, token = cases("responded")
    services.mark_persistent(
        db_session, settings, case, cast.chair, "Same matter raised eight times."
    )
    db_session.commit()
    html = page(client.get(f"/track/{token}"))
    text = re.sub(r"\s+", " ", html.get_text(" "))
    assert "completed its complaints procedure on this matter" in text
    assert html.select_one("textarea#body") is None
    assert html.select_one("#escalate") is None


def test_a_new_case_on_a_persistent_matter_takes_no_replies(
    cast, client, cases, db_session, settings
):
    first, _ = cases("responded")
    services.mark_persistent(
        db_session, settings, first, cast.chair, "Same matter raised eight times."
    )
    db_session.commit()
    second, token = cases("new")
    assert second.persistent_matter and second.is_active
    form_page = client.get(f"/track/{token}")
    assert page(form_page).select_one("textarea#body") is None
    response = client.post(
        f"/track/{token}/reply",
        data={"body": "Again about the same thing.", "csrf_token": csrf_of(client.get("/track"))},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert page(response).select_one(".govuk-error-summary a")["href"] == "#body"


# ---------------------------------------------------------------- files


def test_a_file_is_only_served_for_its_own_case(client, cases, db_session, settings):
    case, token = cases("open")
    other, other_token = cases("open", parent_email="other.parent@example.com")
    services.parent_reply(db_session, settings, case, "A file for you.")
    db_session.commit()
    from portal.complaints import attachments

    stored = attachments.store(
        db_session, settings, filename="letter.pdf", content=b"%PDF-1.4 test", complaint_id=case.id
    )
    db_session.commit()
    own = client.get(f"/track/{token}/attachments/{stored.id}")
    assert own.status_code == 200
    assert own.headers["content-disposition"] == 'attachment; filename="letter.pdf"'
    assert client.get(f"/track/{other_token}/attachments/{stored.id}").status_code == 404
    find(client, other.reference, "other.parent@example.com")
    assert client.get(f"/track/case/attachments/{stored.id}").status_code == 404
    assert client.get("/track/case/attachments/999999").status_code == 404


def test_a_file_on_an_internal_note_is_never_served(client, cases, db_session, settings, cast):
    case, token = cases("open")
    note = services.add_note(db_session, case, cast.head, "Staff only: the log.")
    from portal.complaints import attachments

    stored = attachments.store(
        db_session, settings, filename="log.pdf", content=b"%PDF-1.4 log", complaint_id=case.id
    )
    stored.message_id = note.id
    db_session.commit()
    response = client.get(f"/track/{token}")
    assert "log.pdf" not in response.text
    assert client.get(f"/track/{token}/attachments/{stored.id}").status_code == 404
