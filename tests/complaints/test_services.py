"""The procedure's rules, tested through the services."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.complaints import services
from portal.complaints.models import (
    About,
    Complaint,
    DeadlineKind,
    MessageKind,
    Outcome,
    Stage,
    Status,
)
from portal.complaints.services import ComplaintError, Letter, Triage
from portal.history import history_of
from portal.mail import OutboxMessage
from tests.factories import add_closures, answers, make_case, make_user, submit

# Wednesday 25 November 2026, 10:00 UK time (UTC in winter)
NOW = datetime(2026, 11, 25, 10, 0)
LETTER = Letter(
    outcome=Outcome.partly_upheld,
    investigated="We spoke to the class teacher and read the behaviour log.",
    decision="The incident was handled, but we did not tell you soon enough.",
    actions="We will phone parents the same day in future.",
)


@pytest.fixture
def staff(db_session):
    return {
        "office": make_user(db_session, Role.office, name="Janet Office"),
        "head": make_user(db_session, Role.head, name="David Head"),
        "chair": make_user(db_session, Role.chair, Role.governor, name="Helen Chair"),
        "clerk": make_user(db_session, Role.clerk, name="Tom Clerk"),
        "gov1": make_user(db_session, Role.governor, name="Aisha Governor"),
        "gov2": make_user(db_session, Role.governor, name="Mark Governor"),
        "gov3": make_user(db_session, Role.governor, name="Sarah Governor"),
        "teacher": make_user(db_session, Role.office, name="Class Teacher"),
        "admin": make_user(db_session, Role.admin, name="Admin Only"),
    }


def test_submission_is_stored_with_reference_deadline_and_acknowledgement(db_session, settings):
    case = submit(db_session, settings, parent_email="Sam.Parent@example.com")
    assert case.reference.startswith("C-") and len(case.reference) == 10
    assert case.stage == Stage.stage1 and case.status == Status.new
    assert case.received_on == date(2026, 11, 25)
    # 5 school days after Wednesday 25 November is Wednesday 2 December
    assert case.deadline_kind == DeadlineKind.acknowledge
    assert case.next_deadline == date(2026, 12, 2)
    email = db_session.scalars(select(OutboxMessage)).one()
    assert email.to_address == "Sam.Parent@example.com"
    assert case.reference in email.subject
    assert "/track/" not in email.body_text  # sealed until sent: staff never read the link
    assert [e.tag for e in history_of(db_session, "complaint", case.id)] == [
        "complaint:receive",
        "complaint:message:acknowledgement",
    ]


def test_references_are_unique_and_not_sequential(db_session, settings):
    references = {submit(db_session, settings).reference for _ in range(20)}
    assert len(references) == 20
    assert all(set(r[2:].replace("-", "")) <= set(services.REFERENCE_ALPHABET) for r in references)


def test_reference_lookup_forgives_case_dashes_and_lookalikes(db_session, settings):
    case = submit(db_session, settings)
    typed = case.reference.lower().replace("-", " ")
    assert services.find_for_parent(db_session, typed, "Alex.Parent@EXAMPLE.com").id == case.id
    assert services.find_for_parent(db_session, case.reference, "someone@else.com") is None
    assert services.find_for_parent(db_session, "C-2222-222", "alex.parent@example.com") is None


def test_a_complaint_sent_at_the_weekend_counts_from_monday(db_session, settings):
    saturday = datetime(2026, 11, 28, 14, 0)
    case = submit(db_session, settings, now=saturday)
    assert case.received_on == date(2026, 11, 30)
    assert case.next_deadline == date(2026, 12, 7)


def test_a_complaint_sent_in_the_christmas_holiday_counts_from_the_first_day_back(
    db_session, settings
):
    calendar = services.school_calendar(db_session)
    christmas_eve = datetime(2026, 12, 24, 9, 0)
    case = submit(db_session, settings, now=christmas_eve, happened_on=date(2026, 12, 10))
    assert case.received_on == calendar.next_school_day(date(2026, 12, 24))
    assert case.received_on.month == 1
    assert case.next_deadline == calendar.add_school_days(case.received_on, 5)


def test_deadlines_skip_bank_holidays(db_session, settings):
    calendar = services.school_calendar(db_session)
    explanation = calendar.explain(date(2027, 3, 25), 10)
    skipped = [name for _, name in explanation.bank_holidays_skipped]
    assert "Good Friday" in skipped and "Easter Monday" in skipped


def test_late_complaints_are_flagged_and_need_a_decision(db_session, settings, staff):
    case = submit(db_session, settings, happened_on=date(2026, 7, 1))
    assert case.is_late
    with pytest.raises(ComplaintError) as error:
        services.triage(
            db_session,
            settings,
            case,
            staff["office"],
            Triage(stage=Stage.stage1, category=case.category, handler_id=staff["head"].id),
        )
    assert error.value.field == "late_decision"


def test_declining_a_late_complaint_closes_it_and_tells_the_parent(db_session, settings, staff):
    case = submit(db_session, settings, happened_on=date(2026, 1, 5))
    services.triage(
        db_session,
        settings,
        case,
        staff["office"],
        Triage(
            stage=Stage.stage1,
            category=case.category,
            handler_id=staff["head"].id,
            late_decision="decline",
            notes="This happened ten months ago and the staff member has left.",
        ),
    )
    db_session.commit()
    assert case.status == Status.closed
    last_email = db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert "staff member has left" in last_email.body_text


def test_anonymous_complaints_are_accepted_flagged_and_need_a_decision(db_session, settings, staff):
    received = services.submit(
        db_session,
        settings,
        answers(anonymous=True, parent_name="", parent_email=""),
        now=NOW,
    )
    db_session.commit()
    case = received.complaint
    assert case.anonymous and case.parent_email == ""
    assert db_session.scalars(select(OutboxMessage)).all() == []
    assert services.find_by_token(db_session, received.access_token).id == case.id
    with pytest.raises(ComplaintError) as error:
        services.triage(
            db_session,
            settings,
            case,
            staff["office"],
            Triage(stage=Stage.stage1, category=case.category, handler_id=staff["head"].id),
        )
    assert error.value.field == "anonymous_decision"


def test_routing_about_the_head_goes_to_the_chair_never_the_head(db_session, settings, staff):
    case = submit(db_session, settings, about=About.head)
    assert [u.id for u in services.eligible_handlers(db_session, case)] == [staff["chair"].id]
    with pytest.raises(ComplaintError):
        services.triage(
            db_session,
            settings,
            case,
            staff["chair"],
            Triage(stage=Stage.stage1, category=case.category, handler_id=staff["head"].id),
        )
    db_session.rollback()
    services.triage(
        db_session,
        settings,
        case,
        staff["chair"],
        Triage(stage=Stage.stage1, category=case.category, handler_id=staff["chair"].id),
    )
    db_session.commit()
    assert case.handler_user_id == staff["chair"].id
    assert case.about_user_id == staff["head"].id
    assert not services.can_see(db_session, staff["head"], case)
    assert not services.can_see(db_session, staff["office"], case)
    assert services.can_see(db_session, staff["chair"], case)
    assert services.can_see(db_session, staff["clerk"], case)


def test_routing_about_a_governor_goes_to_the_clerk(db_session, settings, staff):
    case = submit(db_session, settings, about=About.governor, about_name="Aisha Governor")
    assert [u.id for u in services.eligible_handlers(db_session, case)] == [staff["clerk"].id]
    assert not services.can_see(db_session, staff["office"], case)


def test_nobody_sees_or_handles_a_complaint_naming_themselves(db_session, settings, staff):
    case = submit(db_session, settings, about=About.staff, about_name="Class Teacher")
    services.triage(
        db_session,
        settings,
        case,
        staff["office"],
        Triage(
            stage=Stage.stage1,
            category=case.category,
            handler_id=staff["head"].id,
            about_user_id=staff["teacher"].id,
        ),
    )
    db_session.commit()
    assert not services.can_see(db_session, staff["teacher"], case)
    assert services.can_see(db_session, staff["office"], case)
    assert not services.can_handle(db_session, staff["teacher"], case)


def test_admin_and_governors_see_no_cases_by_default(db_session, settings, staff):
    case = make_case(db_session, settings, None, "open", sorted_by=staff["office"])
    assert not services.can_see(db_session, staff["admin"], case)
    assert not services.can_see(db_session, staff["gov1"], case)


def test_triage_starts_the_response_clock_and_tells_parent_and_handler(db_session, settings, staff):
    case = make_case(db_session, settings, None, "open", sorted_by=staff["office"])
    assert case.status == Status.open
    assert case.deadline_kind == DeadlineKind.respond
    # 10 school days from Wednesday 25 November 2026
    assert case.next_deadline == date(2026, 12, 9)
    recipients = [m.to_address for m in db_session.scalars(select(OutboxMessage))]
    assert staff["head"].email in recipients
    assert recipients.count("alex.parent@example.com") == 2


def test_out_of_scope_redirects_with_a_reason_and_tells_the_parent(db_session, settings, staff):
    case = submit(db_session, settings)
    services.redirect_out_of_scope(
        db_session,
        settings,
        case,
        staff["office"],
        procedure="admissions",
        reason="This is about your application for a Reception place.",
    )
    db_session.commit()
    assert case.status == Status.redirected and not case.is_active
    assert case.redirect_to == "School admissions"
    email = db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert "admission authority" in email.body_text
    assert "Reception place" in email.body_text


def test_stage_one_response_opens_the_escalation_window(db_session, settings, staff):
    case = make_case(db_session, settings, None, "open", sorted_by=staff["office"])
    services.respond(db_session, settings, case, staff["head"], LETTER)
    db_session.commit()
    assert case.status == Status.responded
    assert case.deadline_kind == DeadlineKind.escalate
    letter = next(
        m
        for m in services.messages_for(db_session, case, for_parent=True)
        if m.kind == MessageKind.stage1_letter
    )
    assert "Partly upheld" in letter.body
    assert "panel of governors" in letter.body
    assert services.escalation_open(case, services.school_date(db_session))


def test_only_the_handler_can_respond(db_session, settings, staff):
    case = make_case(db_session, settings, None, "open", sorted_by=staff["office"])
    with pytest.raises(ComplaintError):
        services.respond(db_session, settings, case, staff["office"], LETTER)


def test_linked_cases_get_the_same_response(db_session, settings, staff):
    lead = make_case(db_session, settings, None, "open", sorted_by=staff["office"])
    others = [
        make_case(
            db_session,
            settings,
            None,
            "open",
            sorted_by=staff["office"],
            parent_email=f"p{i}@example.com",
        )
        for i in range(3)
    ]
    for other in others:
        services.link_to_lead(db_session, settings, other, lead, staff["office"])
    db_session.commit()
    answered = services.respond(db_session, settings, lead, staff["head"], LETTER)
    db_session.commit()
    assert len(answered) == 4
    assert all(case.status == Status.responded for case in others)


def test_escalation_opens_stage_two_with_a_twenty_day_deadline(db_session, settings, staff):
    case = make_case(db_session, settings, None, "open", sorted_by=staff["office"])
    services.respond(db_session, settings, case, staff["head"], LETTER)
    db_session.commit()
    services.escalate(db_session, settings, case, "The letter did not answer my question.")
    db_session.commit()
    calendar = services.school_calendar(db_session)
    assert case.stage == Stage.stage2 and case.status == Status.open
    assert case.handler_user_id == staff["clerk"].id
    assert case.next_deadline == calendar.add_school_days(case.escalated_on, 20)


def test_escalation_window_closes(db_session, settings, staff):
    case = make_case(db_session, settings, None, "open", sorted_by=staff["office"])
    services.respond(db_session, settings, case, staff["head"], LETTER)
    db_session.commit()
    too_late = case.next_deadline.replace(day=case.next_deadline.day) + (
        date(2027, 3, 1) - date(2027, 2, 1)
    )
    with pytest.raises(ComplaintError) as error:
        services.escalate(
            db_session, settings, case, "I am still not happy with this.", today=too_late
        )
    assert "passed" in error.value.message


def test_lapsed_escalation_windows_are_closed_by_the_reminder_run(db_session, settings, staff):
    case = make_case(db_session, settings, None, "open", sorted_by=staff["office"])
    services.respond(db_session, settings, case, staff["head"], LETTER)
    db_session.commit()
    report = services.remind(db_session, settings, today=date(2027, 2, 1))
    db_session.commit()  # the caller's edge: `portal remind` commits the same way
    assert report.closed == 1
    db_session.refresh(case)
    assert case.status == Status.closed


def test_panel_members_must_be_uninvolved_governors_and_not_the_head(db_session, settings, staff):
    case = make_case(db_session, settings, None, "open", sorted_by=staff["office"])
    services.respond(db_session, settings, case, staff["head"], LETTER)
    services.escalate(db_session, settings, case, "The letter did not answer my question.")
    db_session.commit()
    eligible = {u.id for u in services.eligible_panel_members(db_session, case)}
    assert staff["head"].id not in eligible
    with pytest.raises(ComplaintError):
        services.record_panel(
            db_session,
            case,
            staff["clerk"],
            hearing_on=date(2026, 12, 10),
            member_ids=[staff["gov1"].id, staff["gov2"].id, staff["head"].id],
            papers="",
            hearing_notes="",
        )
    services.record_panel(
        db_session,
        case,
        staff["clerk"],
        hearing_on=services.school_date(db_session),  # it met today
        member_ids=[staff["gov1"].id, staff["gov2"].id, staff["gov3"].id],
        papers="The complaint, the stage 1 letter, the behaviour log.",
        hearing_notes="Parent attended with a friend.",
    )
    db_session.commit()
    assert services.can_see(db_session, staff["gov1"], case)
    services.send_panel_outcome(db_session, settings, case, staff["clerk"], LETTER)
    db_session.commit()
    assert case.status == Status.closed
    letter = services.messages_for(db_session, case, for_parent=True)[-1]
    assert letter.kind == MessageKind.stage2_letter
    assert "Department for Education" in letter.body
    assert "end of the school's complaints procedure" in letter.body


def test_withdrawal_is_confirmed_in_writing(db_session, settings, staff):
    case = make_case(db_session, settings, None, "open", sorted_by=staff["office"])
    services.withdraw(db_session, settings, case, "We sorted it out at the school gate.")
    db_session.commit()
    assert case.status == Status.withdrawn
    subjects = [m.subject for m in db_session.scalars(select(OutboxMessage))]
    assert any("withdrawn" in s for s in subjects)
    with pytest.raises(ComplaintError):
        services.withdraw(db_session, settings, case, "again")


def test_deadline_update_moves_the_date_and_tells_the_parent(db_session, settings, staff):
    case = make_case(db_session, settings, None, "open", sorted_by=staff["office"])
    with pytest.raises(ComplaintError):
        services.send_deadline_update(
            db_session,
            settings,
            case,
            staff["head"],
            new_date=date(2026, 12, 1),
            reason="Need time",
        )
    services.send_deadline_update(
        db_session,
        settings,
        case,
        staff["head"],
        new_date=date(2027, 1, 15),
        reason="The member of staff involved is off sick until January.",
    )
    db_session.commit()
    assert case.next_deadline == date(2027, 1, 15)
    view = services.deadline_view(db_session, case, today=date(2026, 12, 1))
    assert view.due == date(2027, 1, 15) and view.extended_from == date(2026, 12, 9)


def test_deadlines_move_when_term_dates_change(app, db_session, settings, staff, tmp_path):
    case = make_case(db_session, settings, None, "open", sorted_by=staff["office"])
    add_closures(app, date(2026, 12, 1), date(2026, 12, 2))
    db_session.info.clear()
    view = services.deadline_view(db_session, case, today=date(2026, 11, 26))
    assert view.moved_from == date(2026, 12, 9)
    assert view.due == date(2026, 12, 11)
    services.refresh_deadline(db_session, case)
    db_session.commit()
    assert case.next_deadline == date(2026, 12, 11)
    assert "complaint:deadline:moved" in [
        e.tag for e in history_of(db_session, "complaint", case.id)
    ]


def test_reminders_go_to_the_handler_once(db_session, settings, staff):
    case = make_case(db_session, settings, None, "open", sorted_by=staff["office"])
    before = len(db_session.scalars(select(OutboxMessage)).all())
    first = services.remind(db_session, settings, today=date(2026, 12, 7))
    second = services.remind(db_session, settings, today=date(2026, 12, 7))
    assert (first.reminded, second.reminded) == (1, 0)
    reminders = db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()[before:]
    assert [m.to_address for m in reminders] == [staff["head"].email]
    assert case.reference in reminders[0].subject


def test_persistent_complainants_are_told_the_procedure_is_complete(db_session, settings, staff):
    case = make_case(db_session, settings, None, "open", sorted_by=staff["office"])
    with pytest.raises(ComplaintError):
        services.mark_persistent(
            db_session, settings, case, staff["office"], "Fifth letter on this"
        )
    services.mark_persistent(
        db_session,
        settings,
        case,
        staff["head"],
        "Eight messages on the same matter after stage 2.",
    )
    db_session.commit()
    assert case.status == Status.closed
    again = services.submit(db_session, settings, answers(), now=NOW)
    db_session.commit()
    assert not hasattr(again, "persistent_on")
    assert again.complaint.persistent_matter
    assert again.complaint.lead_complaint_id == case.id
    services.close_as_same_matter(db_session, settings, again.complaint, staff["office"])
    db_session.commit()
    assert again.complaint.status == Status.closed


def test_status_counts_follow_every_change_and_respect_visibility(db_session, settings, staff):
    make_case(db_session, settings, None, "open", sorted_by=staff["office"])
    submit(db_session, settings)
    submit(db_session, settings, about=About.head)
    office = services.status_counts(db_session, staff["office"])
    chair = services.status_counts(db_session, staff["chair"])
    assert office[Status.open] == 1 and office[Status.new] == 1
    assert chair[Status.new] == 2
    actual = db_session.scalars(select(Complaint).where(Complaint.about != About.head)).all()
    assert sum(office.values()) == len(actual)


def test_queue_is_sorted_by_deadline_and_pages_without_repeats(db_session, settings, staff):
    for day in (20, 23, 24, 25):
        submit(db_session, settings, now=datetime(2026, 11, day, 10, 0))
    first = services.queue_page(db_session, staff["office"], services.QueueFilters(), limit=3)
    second = services.queue_page(
        db_session, staff["office"], services.QueueFilters(), limit=3, after=first.next_cursor
    )
    deadlines = [c.next_deadline for c in first.cases + second.cases]
    assert deadlines == sorted(deadlines)
    assert len({c.id for c in first.cases + second.cases}) == 4
    assert second.next_cursor is None


def test_queue_search_finds_by_reference_email_name_and_words(db_session, settings, staff):
    case = submit(
        db_session,
        settings,
        what_happened="The minibus left without my daughter.",
        parent_name="Sam Parent",
        parent_email="Sam.Parent@example.com",
    )
    submit(db_session, settings, parent_name="Other Parent", parent_email="other@example.com")
    for query in [case.reference, "sam.parent@example.com", "Sam Parent", "minibus", "daughter"]:
        found = services.queue_page(
            db_session, staff["office"], services.QueueFilters(search=query)
        ).cases
        assert [c.id for c in found] == [case.id], query
