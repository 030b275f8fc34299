"""Unreasonably persistent complainants and the same matter raised again."""

from __future__ import annotations

from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.complaints.models import (
    Complaint,
    MessageKind,
    PersistentComplainant,
    Status,
)
from portal.complaints.services.access import can_mark_persistent, can_triage
from portal.complaints.services.errors import ComplaintError
from portal.complaints.services.notices import _email_parent
from portal.complaints.services.state import _add_message, _change_status
from portal.config import Settings
from portal.history import Actor, record_event


def mark_persistent(
    session: Session, settings: Settings, complaint: Complaint, user: StaffUser, reason: str
) -> None:
    if not can_mark_persistent(session, user, complaint):
        raise ComplaintError("persistent_reason", "Only the head teacher or chair can do this")
    if len(reason.strip()) < 10:
        raise ComplaintError("persistent_reason", "Record the reason")
    if complaint.anonymous or not complaint.parent_email_normalised:
        raise ComplaintError("persistent_reason", "An anonymous case cannot be marked")
    session.add(
        PersistentComplainant(
            email_normalised=complaint.parent_email_normalised,
            complaint_id=complaint.id,
            reason=reason.strip(),
            marked_by_user_id=user.id,
        )
    )
    complaint.persistent_matter = True
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:persistent",
        actor=Actor.staff(user),
        detail={"reason": reason.strip()},
    )
    text = (
        "The school has completed its complaints procedure on this matter. We will not reopen "
        "it or answer further messages about the same matter. If you raise something new, we "
        "will look at it."
    )
    _add_message(session, complaint, MessageKind.school_message, text, Actor.staff(user))
    if complaint.is_active:
        _change_status(session, complaint, Status.closed, Actor.staff(user), persistent=True)
    session.add(complaint)
    _email_parent(
        session,
        settings,
        complaint,
        "procedure-complete",
    )


def close_as_same_matter(
    session: Session, settings: Settings, complaint: Complaint, user: StaffUser
) -> None:
    """A new submission from someone marked persistent, on the matter already closed."""
    if not complaint.persistent_matter or complaint.lead_complaint_id is None:
        raise ComplaintError("procedure", "This case is not linked to a completed matter")
    if not complaint.is_active:
        raise ComplaintError("procedure", "This case is already closed")
    if not can_triage(session, user, complaint) and not can_mark_persistent(
        session, user, complaint
    ):
        raise ComplaintError("procedure", "You cannot close this case")
    lead = session.get(Complaint, complaint.lead_complaint_id)
    text = (
        f"This is about the same matter as {lead.reference if lead else 'an earlier case'}, "
        "where the school's complaints procedure is complete. It will not be reopened."
    )
    _add_message(session, complaint, MessageKind.school_message, text, Actor.staff(user))
    _change_status(session, complaint, Status.closed, Actor.staff(user), same_matter=True)
    _email_parent(
        session,
        settings,
        complaint,
        "same-matter",
        earlier_reference=lead.reference if lead else "",
    )
