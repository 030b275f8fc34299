"""Every email and letter of a stage gives the same next step, from one wording: a formal
complaint after a concern's reply, the governors' panel after a stage 1 letter, and nothing
more after the panel (the procedure is complete)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.complaints import services
from portal.complaints.models import ComplaintMessage, MessageKind, Outcome, Stage
from portal.mail import OutboxMessage
from tests.factories import letter, make_case, make_cast, sort_case

FORMAL = "formal complaint (stage 1)"
PANEL = "panel of governors (stage 2)"
COMPLETE = "end of the school's complaints procedure"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


def _parent_mail(db_session, case) -> list[str]:
    return [
        f"{m.subject}\n{m.body_text}"
        for m in db_session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.to_address == case.parent_email)
            .order_by(OutboxMessage.id)
        )
    ]


def _letter(db_session, case, kind: MessageKind) -> str:
    message = db_session.scalars(
        select(ComplaintMessage).where(
            ComplaintMessage.complaint_id == case.id, ComplaintMessage.kind == kind
        )
    ).one()
    return message.body


def test_a_concerns_reply_offers_a_formal_complaint_never_the_panel(db_session, settings):
    cast = make_cast(db_session)
    case = make_case(db_session, settings, cast, "responded", stage=Stage.concern, formal=False)
    reply = _letter(db_session, case, MessageKind.stage1_letter)
    ready = next(m for m in _parent_mail(db_session, case) if "response" in m.lower())
    for text in (reply, ready):
        assert FORMAL in text
        assert "panel" not in text.lower()
    date_words = f"by {services.format_date(case.next_deadline)}"
    assert date_words in reply and date_words in ready  # the same date in both
    assert all("panel" not in mail.lower() for mail in _parent_mail(db_session, case))


def test_a_stage_1_letter_and_its_email_offer_the_panel_with_the_same_date(db_session, settings):
    cast = make_cast(db_session)
    case = make_case(db_session, settings, cast, "responded")
    response = _letter(db_session, case, MessageKind.stage1_letter)
    ready = next(m for m in _parent_mail(db_session, case) if "response" in m.lower())
    date_words = f"by {services.format_date(case.next_deadline)}"
    for text in (response, ready):
        assert PANEL in text and date_words in text
        assert FORMAL not in text


def test_after_the_panel_nothing_offers_another_stage(db_session, settings):
    cast = make_cast(db_session)
    case = make_case(db_session, settings, cast, "panel")
    services.send_panel_outcome(db_session, settings, case, cast.clerk, letter(Outcome.upheld))
    db_session.commit()
    outcome = _letter(db_session, case, MessageKind.stage2_letter)
    final_mail = _parent_mail(db_session, case)[-1]
    assert "end of the school's complaints procedure" in outcome
    assert "completes the school's complaints procedure" in final_mail
    for text in (outcome, final_mail):
        assert PANEL not in text and FORMAL not in text


def test_office_making_a_concern_formal_tells_the_parent(db_session, settings):
    cast = make_cast(db_session)
    case = make_case(db_session, settings, cast, "open", stage=Stage.concern, formal=False)
    sort_case(
        db_session,
        settings,
        case,
        cast.office,
        handler=cast.head,
        stage=Stage.stage1,
        notes="It is a formal complaint after all.",
    )
    db_session.commit()
    last = _parent_mail(db_session, case)[-1]
    assert "is now a formal complaint" in last
    assert cast.head.name in last
    assert services.format_date(case.next_deadline) in last


def test_a_concern_taken_further_keeps_its_outcome_on_its_reply_not_on_the_case(
    db_session, settings
):
    cast = make_cast(db_session)
    case = make_case(db_session, settings, cast, "responded", stage=Stage.concern, formal=False)
    assert case.outcome
    services.escalate(db_session, settings, case, "The reply did not answer my question at all.")
    db_session.commit()
    assert case.stage == Stage.stage1
    assert case.outcome is None
    assert "Outcome:" in _letter(db_session, case, MessageKind.stage1_letter)
