"""The handler's answers: the response letter, a new date, messages and notes."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.calendar import format_date
from portal.clock import school_today
from portal.complaints.models import (
    Complaint,
    ComplaintMessage,
    DeadlineKind,
    MessageKind,
    Stage,
    Status,
)
from portal.complaints.services.access import (
    can_handle,
    can_message,
    handler_of,
    may_answer_with_lead,
)
from portal.complaints.services.deadlines import _set_deadline
from portal.complaints.services.errors import ComplaintError
from portal.complaints.services.letter_text import Letter, _check_letter, stage1_letter_text
from portal.complaints.services.linked import bring_along, followers, is_follower
from portal.complaints.services.notices import _email_parent
from portal.complaints.services.state import _add_message, _change_status
from portal.config import Settings
from portal.db import now_of
from portal.history import Actor


def respond(
    session: Session, settings: Settings, complaint: Complaint, user: StaffUser, letter: Letter
) -> list[Complaint]:
    """The concern reply or stage 1 letter; linked cases get the same letter. Returns all cases."""
    if complaint.status != Status.open or complaint.stage == Stage.stage2:
        raise ComplaintError("outcome", "Only an open concern or stage 1 case can be answered")
    if not can_handle(session, user, complaint):
        raise ComplaintError("outcome", "Only the case's handler can send its response")
    if is_follower(complaint):
        raise ComplaintError("outcome", "This case is answered with its lead case")
    _check_letter(letter)
    # Linked cases not yet where the lead is (linked before it was sorted) catch up first.
    bring_along(session, settings, complaint, Actor.staff(user))
    answered = [complaint] + [
        case
        for case in followers(session, complaint)
        if case.status == Status.open
        and case.stage == complaint.stage
        and may_answer_with_lead(session, user, case)
    ]
    today = school_today(now_of(session))
    for case in answered:
        body = stage1_letter_text(session, case, letter, user, today)
        _add_message(
            session,
            case,
            MessageKind.stage1_letter,
            body,
            Actor.staff(user),
            outcome=letter.outcome,
            signed_by=_signer_name(session, case, user),
        )
        case.outcome = letter.outcome
        case.responded_on = today
        _change_status(session, case, Status.responded, Actor.staff(user))
        _set_deadline(session, case, DeadlineKind.escalate, today)
        _email_parent(
            session,
            settings,
            case,
            "response-ready",
        )
        session.add(case)
    return answered


def _signer_name(session: Session, case: Complaint, user: StaffUser) -> str | None:
    """The handler's name when someone else (their delegate) sends the letter."""
    handler = handler_of(session, case)
    return handler.name if handler is not None and handler.id != user.id else None


def send_deadline_update(
    session: Session,
    settings: Settings,
    complaint: Complaint,
    user: StaffUser,
    *,
    new_date: date | None,
    reason: str,
) -> None:
    """The handler tells the parent the reply will be late: a new date and why."""
    if not complaint.is_active or complaint.deadline_kind not in (
        DeadlineKind.respond,
        DeadlineKind.panel,
    ):
        raise ComplaintError("new_date", "Only a case waiting for a response can have a new date")
    if not can_handle(session, user, complaint):
        raise ComplaintError("new_date", "Only the case's handler can change its date")
    current = complaint.next_deadline
    if new_date is None or (current and new_date <= current):
        raise ComplaintError("new_date", "Enter a new date later than the current one")
    if len(reason.strip()) < 10:
        raise ComplaintError("reason", "Explain why the reply will be late")
    complaint.deadline_extended_to = new_date
    complaint.next_deadline = new_date
    complaint.queue_date = new_date
    complaint.reminded_for = None
    session.add(complaint)
    _add_message(
        session,
        complaint,
        MessageKind.deadline_update,
        f"We need more time. We will now reply by {format_date(new_date)}.\n\n{reason.strip()}",
        Actor.staff(user),
        new_deadline=new_date,
    )
    _email_parent(
        session,
        settings,
        complaint,
        "new-date",
        new_date=format_date(new_date),
        reason=reason.strip(),
    )


def send_message(
    session: Session, settings: Settings, complaint: Complaint, user: StaffUser, body: str
) -> ComplaintMessage:
    if not can_message(session, user, complaint):
        raise ComplaintError("body", "You cannot send messages on this case")
    if len(body.strip()) < 2:
        raise ComplaintError("body", "Write your message")
    message = _add_message(session, complaint, MessageKind.school_message, body, Actor.staff(user))
    _email_parent(
        session,
        settings,
        complaint,
        "school-message",
    )
    return message


def add_note(
    session: Session, complaint: Complaint, user: StaffUser, body: str
) -> ComplaintMessage:
    if len(body.strip()) < 2:
        raise ComplaintError("note", "Write your note")
    return _add_message(session, complaint, MessageKind.internal_note, body, Actor.staff(user))
