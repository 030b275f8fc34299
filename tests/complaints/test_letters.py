"""The stage 1 and stage 2 letters as PDFs."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from portal.complaints import services
from portal.complaints.letters import latin1_text, letter_pdf
from portal.complaints.models import ComplaintMessage, MessageKind
from tests.complaints.test_track import EMAIL, find, tracked_cases


@pytest.fixture
def cases(db_session, settings, cast):  # type: ignore[no-untyped-def]
    return tracked_cases(db_session, settings, cast)


def pdf_text(content: bytes) -> str:
    """The words drawn on the pages (the PDF is uncompressed), joined as one line."""
    shown = re.findall(rb"\((.*?)(?<!\\)\) Tj", content)
    words = " ".join(part.decode("latin-1") for part in shown)
    return re.sub(r"\s+", " ", words.replace("\\(", "(").replace("\\)", ")"))


def letter_of(db_session, kind: MessageKind) -> ComplaintMessage:  # type: ignore[no-untyped-def]
    return db_session.scalars(select(ComplaintMessage).where(ComplaintMessage.kind == kind)).one()


# ---------------------------------------------------------------- the PDF itself


def test_a_stage_1_letter_is_an_a4_pdf_with_the_school_date_reference_and_body(
    cases, db_session, settings, school
):
    case, _ = cases("responded")
    message = letter_of(db_session, MessageKind.stage1_letter)
    content = letter_pdf(school, case, message)
    assert content.startswith(b"%PDF-")
    assert b"/MediaBox [0 0 595.28 841.89]" in content
    text = pdf_text(content)
    assert school.name in text
    assert school.contact_address in text
    assert f"Reference: {case.reference}" in text
    assert "Response to your complaint" in text
    assert "Wednesday 25 November 2026" in text
    assert "Dear Alex Parent," in text
    assert "We spoke to the class teacher and read the behaviour log." in text
    assert "Page 1 of 1" in text
    assert f"/Title (Response to your complaint \\({case.reference}\\))".encode() in content


def test_a_stage_2_letter_says_where_to_go_next(cases, db_session, settings, school):
    case, _ = cases("closed")
    message = letter_of(db_session, MessageKind.stage2_letter)
    text = pdf_text(letter_pdf(school, case, message))
    assert "Outcome of the governors' panel" in text
    assert "Department for Education" in text
    assert "www.gov.uk/complain-about-school" in text


def test_the_same_letter_gives_the_same_pdf(cases, db_session, settings, school):
    case, _ = cases("responded")
    message = letter_of(db_session, MessageKind.stage1_letter)
    assert letter_pdf(school, case, message) == letter_pdf(school, case, message)


def test_unicode_is_printed_safely(cases, db_session, settings, school):
    case, _ = cases("responded")
    message = ComplaintMessage(
        complaint_id=case.id,
        kind=MessageKind.stage1_letter,
        author_type="staff",
        author_label="David Head",
        body="Dear Zoë,\n\n“Thank you” – we’re sorry… Łukasz said 5 € \U0001f600 done.\tEnd",
        created_at=datetime(2026, 11, 25, 10, 0),
    )
    text = pdf_text(letter_pdf(school, case, message))
    assert "Dear Zo\xeb," in text
    assert '"Thank you" - we\'re sorry... Lukasz said 5 EUR ? done. End' in text


def test_long_letters_run_onto_numbered_pages(cases, db_session, settings, school):
    case, _ = cases("responded")
    message = ComplaintMessage(
        complaint_id=case.id,
        kind=MessageKind.stage2_letter,
        author_type="staff",
        author_label="Tom Clerk",
        body="\n\n".join(f"Paragraph {n}: the panel looked at this." for n in range(80)),
        created_at=datetime(2026, 11, 25, 10, 0),
    )
    text = pdf_text(letter_pdf(school, case, message))
    assert "Page 1 of 3" in text or "Page 1 of 2" in text
    assert "Paragraph 79: the panel looked at this." in text


def test_latin1_text_keeps_what_it_can():
    assert latin1_text("café – “naïve” ‘quote’") == "café - \"naïve\" 'quote'"
    assert latin1_text("Gdańsk") == "Gdansk"
    assert latin1_text("日本") == "??"
    assert latin1_text("line one\r\nline two\x07") == "line one\nline two"


# ---------------------------------------------------------------- downloading


def test_the_parent_downloads_the_stage_1_letter(client, cases, db_session):
    case, token = cases("responded")
    message = letter_of(db_session, MessageKind.stage1_letter)
    response = client.get(f"/track/{token}/letters/{message.id}.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{case.reference}-response.pdf"'
    )
    assert response.headers["cache-control"] == "private, no-store"
    assert response.content.startswith(b"%PDF-")
    assert case.reference in pdf_text(response.content)


def test_the_parent_downloads_the_stage_2_letter_through_the_cookie(client, cases, db_session):
    case, _ = cases("closed")
    find(client, case.reference, EMAIL)
    message = letter_of(db_session, MessageKind.stage2_letter)
    response = client.get(f"/track/case/letters/{message.id}.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{case.reference}-panel-outcome.pdf"'
    )
    text = pdf_text(response.content)
    assert case.reference in text
    assert "Department for Education" in text


def test_only_letters_of_this_case_can_be_downloaded(cast, client, cases, db_session, settings):
    case, token = cases("responded")
    other, other_token = cases("responded", parent_email="other.parent@example.com")
    message = services.send_message(
        db_session, settings, case, cast.head, "Your letter is on the portal."
    )
    db_session.commit()
    own_letter = letter_of_case(db_session, case.id)
    other_letter = letter_of_case(db_session, other.id)
    assert client.get(f"/track/{token}/letters/{own_letter.id}.pdf").status_code == 200
    assert client.get(f"/track/{token}/letters/{other_letter.id}.pdf").status_code == 404
    assert client.get(f"/track/{other_token}/letters/{other_letter.id}.pdf").status_code == 200
    assert client.get(f"/track/{token}/letters/{message.id}.pdf").status_code == 404
    assert client.get(f"/track/{token}/letters/999999.pdf").status_code == 404
    no_cookie = client.get(f"/track/case/letters/{own_letter.id}.pdf", follow_redirects=False)
    assert no_cookie.headers["location"] == "/track"


def letter_of_case(db_session, complaint_id: int) -> ComplaintMessage:  # type: ignore[no-untyped-def]
    return db_session.scalars(
        select(ComplaintMessage).where(
            ComplaintMessage.complaint_id == complaint_id,
            ComplaintMessage.kind == MessageKind.stage1_letter,
        )
    ).one()
