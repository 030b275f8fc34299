"""What the parent may do on their case: reply, withdraw, ask for the next stage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import (
    func,
    select,
)
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.calendar import format_date
from portal.clock import school_today
from portal.complaints.models import (
    Attachment,
    Complaint,
    ComplaintMessage,
    DeadlineKind,
    MessageKind,
    Stage,
    Status,
)
from portal.complaints.services.access import handler_of
from portal.complaints.services.deadlines import _set_deadline, school_calendar, school_date
from portal.complaints.services.delegation import delegate_of
from portal.complaints.services.errors import ComplaintError
from portal.complaints.services.linked import move_group_with, release_followers
from portal.complaints.services.notices import _email_parent, _email_staff, _kind_word
from portal.complaints.services.receiving import _received_on
from portal.complaints.services.state import _add_message, _change_status
from portal.config import Settings
from portal.db import now_of
from portal.history import Actor, record_event

REPLY_TEXT_LIMIT = 10_000


def check_reply(session: Session, settings: Settings, complaint: Complaint, body: str) -> None:
    """Refuse a reply before anything is stored: closed case, empty, too long, or too many today.

    The same text limit as the form's long answers; the daily limit stops a flood (or a stuck
    browser) burying the case, and the parent's words are kept on the page to send later.
    """
    if not complaint.is_active:
        raise ComplaintError("body", "This case is closed, so you cannot reply to it")
    if complaint.persistent_matter:
        raise ComplaintError(
            "body", "The school's complaints procedure on this matter is complete, so it is closed"
        )
    if len(body.strip()) < 2:
        raise ComplaintError("body", "Write your reply")
    if len(body) > REPLY_TEXT_LIMIT:
        raise ComplaintError("body", f"Your reply must be {REPLY_TEXT_LIMIT:,} characters or fewer")
    since = now_of(session) - timedelta(days=1)
    sent_today = session.scalar(
        select(func.count())
        .select_from(ComplaintMessage)
        .where(
            ComplaintMessage.complaint_id == complaint.id,
            ComplaintMessage.kind == MessageKind.parent_reply,
            ComplaintMessage.created_at > since,
        )
    )
    if (sent_today or 0) >= settings.replies_per_case_per_day:
        raise ComplaintError(
            "body",
            f"You have sent {settings.replies_per_case_per_day} replies on this case in the "
            "last 24 hours, which is the most we take in a day. We have kept what you wrote: "
            "send it tomorrow, or phone the school office if it is urgent",
        )


def parent_reply(
    session: Session,
    settings: Settings,
    complaint: Complaint,
    body: str,
    attachment_ids: Sequence[int] = (),
) -> ComplaintMessage:
    check_reply(session, settings, complaint, body)
    message = _add_message(
        session, complaint, MessageKind.parent_reply, body, Actor.parent(complaint.display_name)
    )
    for attachment_id in attachment_ids:
        attachment = session.get(Attachment, attachment_id)
        if attachment is not None:
            attachment.complaint_id = complaint.id
            attachment.message_id = message.id
            attachment.draft_id = None
            session.add(attachment)
    for person in (handler_of(session, complaint), delegate_of(session, complaint)):
        _email_staff(
            session,
            settings,
            person,
            complaint,
            "staff-parent-replied",
        )
    return message


def withdrawal_confirmation(kind_word: str, withdrawn_on: str, reason: str) -> str:
    """The written confirmation on the case, addressed to the parent, as the email is: staff
    read the same words, so they see exactly what the parent was told."""
    given = reason.strip()
    return (
        f"You withdrew your {kind_word} on {withdrawn_on}. This is our written confirmation.\n\n"
        "What happens now\n"
        "We have stopped looking into it and we will take no further action. We will not "
        "contact you about it again.\n\n"
        f"You can still read your {kind_word} and its messages here. If you change your mind, "
        "you can raise it again as a new concern or complaint.\n\n"
        + (f"Your reason\n{given}" if given else "You did not give a reason.")
    )


def withdraw(session: Session, settings: Settings, complaint: Complaint, reason: str) -> None:
    """The parent withdraws; we confirm it in writing (a message on the case and an email)."""
    if not complaint.is_active:
        raise ComplaintError("reason", "This case is already closed")
    withdrawn_on = format_date(school_date(session))
    _add_message(
        session,
        complaint,
        MessageKind.withdrawal,
        withdrawal_confirmation(_kind_word(complaint), withdrawn_on, reason),
        Actor.parent(complaint.display_name),
    )
    _change_status(session, complaint, Status.withdrawn, Actor.parent(complaint.display_name))
    release_followers(
        session,
        complaint,
        Actor.parent(complaint.display_name),
        f"Its lead {complaint.reference} was withdrawn",
    )
    _email_parent(
        session,
        settings,
        complaint,
        "case-withdrawn",
        withdrawn_on=withdrawn_on,
    )
    for person in (handler_of(session, complaint), delegate_of(session, complaint)):
        _email_staff(
            session,
            settings,
            person,
            complaint,
            "staff-case-withdrawn",
        )


def escalation_open(complaint: Complaint, today: date) -> bool:
    return (
        complaint.status == Status.responded
        and complaint.deadline_kind == DeadlineKind.escalate
        # No date yet (the term dates ran out): the window stays open until one is set.
        and (complaint.next_deadline is None or today <= complaint.next_deadline)
        and not complaint.persistent_matter
    )


def escalate(
    session: Session,
    settings: Settings,
    complaint: Complaint,
    reasons: str,
    *,
    today: date | None = None,
) -> None:
    """After a stage 1 letter, inside the window: the governors' panel (stage 2) is opened.

    After a concern reply it becomes a formal stage 1 complaint instead.
    """
    today = today or school_today(now_of(session))
    if not escalation_open(complaint, today):
        raise ComplaintError(
            "reasons", "The time to ask for the next stage has passed, or this case is closed"
        )
    if len(reasons.strip()) < 10:
        raise ComplaintError("reasons", "Tell us why you are not satisfied")
    actor = Actor.parent(complaint.display_name)
    _add_message(session, complaint, MessageKind.escalation_request, reasons, actor)
    old_stage = complaint.stage
    calendar = school_calendar(session)
    if complaint.stage == Stage.concern:
        complaint.stage = Stage.stage1
        complaint.outcome = None  # the concern's outcome stays on its reply, not on the complaint
        complaint.received_on = _received_on(calendar, today)
        _change_status(session, complaint, Status.open, actor)
        _set_deadline(session, complaint, DeadlineKind.respond, complaint.received_on)
        handler = handler_of(session, complaint)
    else:
        complaint.stage = Stage.stage2
        complaint.escalated_on = _received_on(calendar, today)
        clerks = [
            u
            for u in session.scalars(
                select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.id)
            )
            if u.has_role(Role.clerk) and u.id != complaint.about_user_id
        ]
        handler = clerks[0] if clerks else None
        complaint.handler_user_id = handler.id if handler else complaint.handler_user_id
        _change_status(session, complaint, Status.open, actor)
        _set_deadline(session, complaint, DeadlineKind.panel, complaint.escalated_on)
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:stage:escalate",
        actor=actor,
        from_value=old_stage,
        to_value=complaint.stage,
    )
    session.add(complaint)
    move_group_with(session, settings, complaint, old_stage, actor)
    _email_parent(
        session,
        settings,
        complaint,
        "next-stage-requested",
    )
    _email_staff(
        session,
        settings,
        handler,
        complaint,
        "staff-next-stage",
    )
