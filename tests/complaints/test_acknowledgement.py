"""The acknowledgement: a letter on the case from the moment it is received (so always inside
the acknowledgement timescale), saying what happens next and by which dates; its email says the
same; a case held as possible junk is acknowledged when office releases it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.calendar import format_date
from portal.complaints import services
from portal.complaints.letters import letter_pdf
from portal.complaints.models import ComplaintMessage, MessageKind
from portal.mail import OutboxMessage
from tests.factories import answers, make_cast


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


def _acknowledgements(db_session, case) -> list[ComplaintMessage]:
    return list(
        db_session.scalars(
            select(ComplaintMessage).where(
                ComplaintMessage.complaint_id == case.id,
                ComplaintMessage.kind == MessageKind.acknowledgement,
            )
        )
    )


def test_a_complaint_is_acknowledged_at_once_with_both_dates(db_session, settings, school):
    case = services.submit(db_session, settings, answers()).complaint
    db_session.commit()
    (letter,) = _acknowledgements(db_session, case)
    calendar = services.school_calendar(db_session)
    reply_by = calendar.add_school_days(
        calendar.next_school_day(case.received_on), school.stage1_response_days
    )
    assert f"by {format_date(case.next_deadline)}" in letter.body  # who is looking into it
    assert f"by {format_date(reply_by)}" in letter.body  # the full reply
    assert case.reference in letter.body and case.parent_name in letter.body
    mail = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == case.parent_email)
    ).one()
    assert f"by {format_date(reply_by)}" in mail.body_text
    pdf = letter_pdf(school, case, letter)
    assert pdf.startswith(b"%PDF") and b"received your concern or complaint" in pdf


def test_a_concern_is_promised_its_reply_within_the_concern_timescale(db_session, settings, school):
    case = services.submit(db_session, settings, answers(formal=False)).complaint
    db_session.commit()
    (letter,) = _acknowledgements(db_session, case)
    calendar = services.school_calendar(db_session)
    reply_by = calendar.add_school_days(
        calendar.next_school_day(case.received_on), school.concern_response_days
    )
    assert "Your concern" in letter.body
    assert f"by {format_date(reply_by)}" in letter.body


def test_an_anonymous_case_is_acknowledged_on_the_case_without_a_name(db_session, settings):
    case = services.submit(
        db_session, settings, answers(anonymous=True, parent_name="", parent_email="")
    ).complaint
    db_session.commit()
    (letter,) = _acknowledgements(db_session, case)
    assert letter.body.startswith("Dear parent or carer,")


def test_a_held_case_is_acknowledged_when_released_not_before(db_session, settings):
    cast = make_cast(db_session)
    case = services.submit(db_session, settings, answers(), held=True).complaint
    db_session.commit()
    assert _acknowledgements(db_session, case) == []
    services.release_held(db_session, settings, case, cast.office)
    db_session.commit()
    assert len(_acknowledgements(db_session, case)) == 1
