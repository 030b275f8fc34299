"""Cases answered together: every linked case follows its lead through every stage and gets every
letter, whenever it was linked; unlinking is possible and recorded; nothing is left waiting."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.complaints import services
from portal.complaints.models import (
    About,
    Complaint,
    ComplaintMessage,
    MessageKind,
    Outcome,
    Stage,
    Status,
)
from portal.complaints.services import ComplaintError
from portal.history import HistoryEvent
from portal.mail import OutboxMessage
from tests.conftest import csrf_of, text_of
from tests.factories import answers, letter, make_case, sign_in, sort_case

REASONS = "The letter did not deal with the children waiting in the rain at all."


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


def _submit(db_session, settings, number: int, **overrides) -> Complaint:
    case = services.submit(
        db_session,
        settings,
        answers(
            parent_name=f"Parent {number}",
            parent_email=f"parent{number}@example.com",
            category="Premises and safety",
            what_happened="Children wait in the rain on Mill Lane at pick-up with no cover.",
            **overrides,
        ),
    ).complaint
    db_session.commit()
    return case


def _sort(db_session, settings, case, cast) -> None:
    sort_case(db_session, settings, case, cast.office, handler=cast.head, stage=Stage.stage1)
    db_session.commit()


def _mail_to(db_session, address: str) -> list[str]:
    return list(
        db_session.scalars(
            select(OutboxMessage.subject)
            .where(OutboxMessage.to_address == address)
            .order_by(OutboxMessage.id)
        )
    )


def _letters(db_session, case: Complaint, kind: MessageKind) -> list[ComplaintMessage]:
    return list(
        db_session.scalars(
            select(ComplaintMessage).where(
                ComplaintMessage.complaint_id == case.id, ComplaintMessage.kind == kind
            )
        )
    )


def _tags(db_session, case: Complaint) -> list[str]:
    return list(
        db_session.scalars(
            select(HistoryEvent.tag)
            .where(
                HistoryEvent.subject_type == "complaint", HistoryEvent.subject_id == str(case.id)
            )
            .order_by(HistoryEvent.id)
        )
    )


def test_a_campaign_linked_before_sorting_follows_its_lead_to_the_end(db_session, settings, cast):
    lead, second, third = (_submit(db_session, settings, n) for n in (1, 2, 3))
    for case in (second, third):
        services.link_to_lead(db_session, settings, case, lead, cast.office)
    db_session.commit()
    assert {second.status, third.status} == {Status.new}  # nothing to follow yet

    _sort(db_session, settings, lead, cast)
    for case in (second, third):
        assert case.status == Status.open
        assert case.handler_user_id == cast.head.id
        assert case.stage == Stage.stage1
        assert case.next_deadline is not None
        assert any("being looked into" in s for s in _mail_to(db_session, case.parent_email))
        assert "complaint:link:follow" in _tags(db_session, case)

    answered = services.respond(db_session, settings, lead, cast.head, letter())
    db_session.commit()
    assert {case.id for case in answered} == {lead.id, second.id, third.id}
    for case in (lead, second, third):
        assert case.status == Status.responded
        (stage1,) = _letters(db_session, case, MessageKind.stage1_letter)
        assert case.parent_name in stage1.body  # each letter is addressed to its own parent

    services.escalate(db_session, settings, second, REASONS)  # one parent asks for the panel
    db_session.commit()
    for case in (lead, second, third):
        assert (case.stage, case.status) == (Stage.stage2, Status.open)
        assert case.handler_user_id == cast.clerk.id
    for case in (lead, third):
        assert any("is now a stage 2" in s for s in _mail_to(db_session, case.parent_email))
    assert not any("is now a stage 2" in s for s in _mail_to(db_session, second.parent_email))

    with pytest.raises(ComplaintError, match="record the panel there"):
        services.record_panel(
            db_session,
            second,
            cast.clerk,
            hearing_on=None,
            member_ids=[],
            papers="",
            hearing_notes="",
        )
    db_session.rollback()
    make_panel = {
        "hearing_on": lead.escalated_on,
        "member_ids": [g.id for g in cast.governors],
        "papers": "The stage 1 letter and the parents' requests.",
        "hearing_notes": "Two parents spoke.",
    }
    services.record_panel(db_session, lead, cast.clerk, **make_panel)
    db_session.commit()
    services.send_panel_outcome(db_session, settings, lead, cast.clerk, letter(Outcome.upheld))
    db_session.commit()
    for case in (lead, second, third):
        assert case.status == Status.closed
        (stage2,) = _letters(db_session, case, MessageKind.stage2_letter)
        assert case.parent_name in stage2.body


def test_a_case_linked_to_a_lead_being_looked_into_is_sorted_at_once(db_session, settings, cast):
    lead = make_case(db_session, settings, cast, "open")
    late = _submit(db_session, settings, 7)
    services.link_to_lead(db_session, settings, late, lead, cast.office)
    db_session.commit()
    assert (late.status, late.handler_user_id) == (Status.open, cast.head.id)


def test_a_lead_already_answered_cannot_take_new_cases(db_session, settings, cast):
    lead = make_case(db_session, settings, cast, "responded")
    late = _submit(db_session, settings, 8)
    with pytest.raises(ComplaintError, match="already been answered"):
        services.link_to_lead(db_session, settings, late, lead, cast.office)


def test_a_linked_case_naming_the_leads_handler_keeps_them_off_the_lead(db_session, settings, cast):
    lead = _submit(db_session, settings, 1)
    about_head = _submit(
        db_session, settings, 2, about=About.staff, about_name=cast.head.name, formal=True
    )
    services.link_to_lead(db_session, settings, about_head, lead, cast.office)
    db_session.commit()
    with pytest.raises(ComplaintError, match="not the person named"):
        _sort(db_session, settings, lead, cast)
    db_session.rollback()
    services.unlink_by_staff(db_session, about_head, cast.office)
    db_session.commit()
    _sort(db_session, settings, lead, cast)
    assert about_head.lead_complaint_id is None
    assert about_head.status == Status.new  # waits to be sorted on its own, in the queue
    assert "complaint:unlink" in _tags(db_session, about_head)


def test_an_old_link_to_someone_the_case_names_is_undone_when_the_lead_moves(
    db_session, settings, cast
):
    lead = make_case(db_session, settings, cast, "open")
    about_head = _submit(
        db_session, settings, 2, about=About.staff, about_name=cast.head.name, formal=True
    )
    about_head.lead_complaint_id = lead.id  # made before the rule, behind the services' back
    db_session.add(about_head)
    db_session.commit()
    answered = services.respond(db_session, settings, lead, cast.head, letter())
    db_session.commit()
    assert about_head.id not in {case.id for case in answered}
    assert about_head.lead_complaint_id is None and about_head.status == Status.new
    assert not _letters(db_session, about_head, MessageKind.stage1_letter)


def test_a_withdrawn_lead_lets_its_linked_cases_go_on(db_session, settings, cast):
    lead, second = (_submit(db_session, settings, n) for n in (1, 2))
    services.link_to_lead(db_session, settings, second, lead, cast.office)
    db_session.commit()
    services.withdraw(db_session, settings, lead, "Sorted out at the gate.")
    db_session.commit()
    assert second.lead_complaint_id is None
    assert second.is_active and second.status == Status.new
    assert "complaint:unlink" in _tags(db_session, second)


def test_a_case_left_behind_by_an_old_link_still_gets_the_letter(db_session, settings, cast):
    lead = make_case(db_session, settings, cast, "open")
    left_behind = _submit(db_session, settings, 9)
    left_behind.lead_complaint_id = lead.id  # linked before this rule existed, never sorted
    db_session.add(left_behind)
    db_session.commit()
    services.respond(db_session, settings, lead, cast.head, letter())
    db_session.commit()
    assert left_behind.status == Status.responded
    assert _letters(db_session, left_behind, MessageKind.stage1_letter)


def test_a_linked_case_is_not_sorted_or_answered_on_its_own(db_session, settings, cast):
    lead = make_case(db_session, settings, cast, "open")
    second = _submit(db_session, settings, 2)
    services.link_to_lead(db_session, settings, second, lead, cast.office)
    db_session.commit()
    with pytest.raises(ComplaintError, match="answered with its lead"):
        services.respond(db_session, settings, second, cast.head, letter())
    db_session.rollback()
    shown = services_shown(db_session, cast.head, second)
    assert not shown["respond"] and not shown["triage"]
    assert shown["unlink"]


def services_shown(db_session, user, case) -> dict[str, bool]:
    from portal.complaints.actions import shown

    return shown(db_session, user, case)


def test_office_unlinks_a_case_from_the_page_and_it_is_recorded(client, db_session, settings, cast):
    lead = make_case(db_session, settings, cast, "open")
    second = _submit(db_session, settings, 2)
    services.link_to_lead(db_session, settings, second, lead, cast.office)
    db_session.commit()
    sign_in(client, cast.office)
    case_page = client.get(f"/staff/complaints/{second.reference}")
    assert "Unlink this case" in text_of(case_page)
    response = client.post(
        f"/staff/complaints/{second.reference}/unlink",
        data={"csrf_token": csrf_of(case_page)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    after = text_of(client.get(response.headers["location"]))
    assert "Case unlinked" in after
    assert f"Unlinked from lead case {lead.reference}" in after
    db_session.expire_all()
    assert db_session.get(Complaint, second.id).lead_complaint_id is None


@pytest.mark.committed
def test_a_case_unlinked_from_two_pages_at_once_is_unlinked_once(app, db_session, settings, cast):
    from tests.complaints.test_attacks import _at_once

    lead = _submit(db_session, settings, 1)
    case = _submit(db_session, settings, 2)
    services.link_to_lead(db_session, settings, case, lead, cast.office)
    db_session.commit()

    def unlink(session, complaint):
        office = session.get(type(cast.office), cast.office.id)
        services.unlink_by_staff(session, complaint, office)

    outcomes = _at_once(app, 8, unlink, case.id)

    assert outcomes.count("won") == 1
    db_session.expire_all()
    unlinks = db_session.scalars(
        select(HistoryEvent).where(
            HistoryEvent.subject_id == str(case.id), HistoryEvent.tag == "complaint:unlink"
        )
    ).all()
    assert len(unlinks) == 1
    assert db_session.get(Complaint, case.id).lead_complaint_id is None
