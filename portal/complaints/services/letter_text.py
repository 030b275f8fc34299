"""The words of the letters: the stage 1 response and the panel outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.calendar import CalendarExhaustedError, format_date
from portal.complaints.models import (
    Complaint,
    Outcome,
)
from portal.complaints.services.access import handler_of
from portal.complaints.services.deadlines import compute_deadline, school_calendar
from portal.complaints.services.errors import ComplaintError
from portal.complaints.services.notices import case_view
from portal.school.services import school_of
from portal.wording.services import render as render_wording


@dataclass
class Letter:
    outcome: Outcome
    investigated: str
    decision: str
    actions: str


def _check_letter(letter: Letter) -> None:
    if not isinstance(letter.outcome, Outcome):
        raise ComplaintError("outcome", "Select the outcome")
    for text_field in ("investigated", "decision"):
        if len(getattr(letter, text_field).strip()) < 10:
            raise ComplaintError(text_field, "Write this part of the letter")


def stage1_letter_text(
    session: Session, complaint: Complaint, letter: Letter, user: StaffUser, today: date
) -> str:
    school = school_of(session)
    try:
        window = compute_deadline(school_calendar(session), today, school.escalation_window_days)
        by_when = f"by {format_date(window)}"
    except CalendarExhaustedError:
        by_when = f"within {school.escalation_window_days} school days of this letter"
    # Over the handler's name, whoever sends it (a senior leader the case was given to); the
    # history records who actually sent it.
    signer = handler_of(session, complaint) or user
    values = _letter_values(session, complaint, letter, signer)
    values["case"] = case_view(complaint, school, escalate_by=by_when)
    return render_wording(
        session, "stage1-letter", {**values, "escalate_by": by_when}, school=school
    ).body


def _letter_values(
    session: Session, complaint: Complaint, letter: Letter, user: StaffUser
) -> dict[str, object]:
    """What both letters' templates read (portal.wording: stage1-letter, panel-outcome-letter)."""
    school = school_of(session)
    return {
        "case": case_view(complaint, school),
        "recipient_name": "parent or carer" if complaint.anonymous else complaint.parent_name,
        "outcome": letter.outcome.label,
        "investigated": letter.investigated.strip(),
        "decision": letter.decision.strip(),
        "actions": letter.actions.strip(),
        "signer_name": user.name,
        "signer_role": _signed_as(session, user),
    }


def _signed_as(session: Session, user: StaffUser) -> str:
    """The line under a letter's signature: roles and the school."""
    return f"{', '.join(user.role_labels)}, {school_of(session).name}"
