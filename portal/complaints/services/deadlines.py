"""Deadlines in school days: set from the school's timescales and term dates, recomputed
when the dates move."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from portal.calendar import CalendarExhaustedError, DeadlineExplanation, SchoolCalendar, format_date
from portal.clock import school_today
from portal.complaints.models import (
    NO_DEADLINE,
    Complaint,
    DeadlineKind,
    Stage,
)
from portal.db import now_of
from portal.history import Actor, record_event
from portal.school.services import School, calendar_of, school_of


def school_calendar(session: Session) -> SchoolCalendar:
    """The school's term dates as stored now (edited on the admin pages, no restart)."""
    return calendar_of(session)


def school_date(session: Session) -> date:
    """Today's date at the school, by the clock of the app that opened `session`."""
    return school_today(now_of(session))


def timescale_days(school: School, kind: DeadlineKind, stage: Stage) -> int:
    """The school's own timescale for this deadline, in school days."""
    if kind is DeadlineKind.acknowledge:
        return school.acknowledge_within_days
    if kind is DeadlineKind.escalate:
        return school.escalation_window_days
    if kind is DeadlineKind.panel:
        return school.stage2_outcome_days
    if stage is Stage.concern:
        return school.concern_response_days
    return school.stage1_response_days


def _set_deadline(
    session: Session, complaint: Complaint, kind: DeadlineKind | None, start: date | None
) -> None:
    complaint.deadline_extended_to = None
    complaint.reminded_for = None
    if kind is None or start is None:
        complaint.deadline_kind = None
        complaint.deadline_from = None
        complaint.deadline_school_days = None
        complaint.next_deadline = None
        complaint.queue_date = NO_DEADLINE
        return
    days = timescale_days(school_of(session), kind, complaint.stage_enum)
    complaint.deadline_kind = kind
    complaint.deadline_from = start
    complaint.deadline_school_days = days
    try:
        complaint.next_deadline = compute_deadline(school_calendar(session), start, days)
    except CalendarExhaustedError:
        # The term dates run out before the deadline: keep its basis, so it is worked out the
        # moment the next dates are added, and show "not set yet" meanwhile. Never an error.
        complaint.next_deadline = None
        complaint.queue_date = NO_DEADLINE
        return
    complaint.queue_date = complaint.next_deadline


def compute_deadline(calendar: SchoolCalendar, start: date, days: int) -> date:
    return calendar.add_school_days(calendar.next_school_day(start), days)


@dataclass(frozen=True)
class DeadlineView:
    """A case's next deadline, how it was worked out, and whether it has moved since stored."""

    kind: DeadlineKind
    due: date
    explanation: DeadlineExplanation | None
    extended_from: date | None
    moved_from: date | None
    overdue: bool


def deadline_view(session: Session, complaint: Complaint, today: date) -> DeadlineView | None:
    """Recompute from the stored basis, so a change to term dates or holidays shows at once."""
    if complaint.deadline_kind is None or complaint.deadline_from is None:
        return None
    explanation: DeadlineExplanation | None
    try:
        explanation = school_calendar(session).explain(
            complaint.deadline_from, complaint.deadline_school_days or 0
        )
        computed = explanation.deadline
    except CalendarExhaustedError:
        explanation = None
        if complaint.next_deadline is None and complaint.deadline_extended_to is None:
            return None  # not set yet: the term dates do not reach it
        computed = complaint.next_deadline or complaint.deadline_from
    due = complaint.deadline_extended_to or computed
    stored = complaint.next_deadline
    moved_from = stored if stored and stored != due else None
    return DeadlineView(
        kind=DeadlineKind(complaint.deadline_kind),
        due=due,
        explanation=explanation,
        extended_from=computed if complaint.deadline_extended_to else None,
        moved_from=moved_from,
        overdue=due < today and complaint.deadline_kind != DeadlineKind.escalate,
    )


def refresh_deadline(session: Session, complaint: Complaint) -> date | None:
    """Store the recomputed deadline when term dates or holidays moved it; record the move."""
    view = deadline_view(session, complaint, school_date(session))
    if view is None or view.due == complaint.next_deadline:
        return None
    old = complaint.next_deadline
    complaint.next_deadline = view.due
    complaint.queue_date = view.due
    complaint.reminded_for = None
    session.add(complaint)
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:deadline:moved",
        actor=Actor.system(),
        from_value=old.isoformat() if old else None,
        to_value=view.due.isoformat(),
        detail={"reason": "term dates or bank holidays changed"},
    )
    return old


def _due(day: date | None) -> str:
    """A deadline for an email; when the term dates have run out there is none yet to give."""
    return format_date(day) if day is not None else "a date we will confirm soon"


def _by_when(complaint: Complaint, school: School) -> str:
    """ "by Monday 7 December 2026", or the timescale when the term dates have run out."""
    if complaint.next_deadline is not None:
        return f"by {format_date(complaint.next_deadline)}"
    return f"within {school.acknowledge_within_days} school days"


def overdue_marker(complaint: Complaint, today: date) -> bool:
    return bool(
        complaint.next_deadline
        and complaint.next_deadline < today
        and complaint.deadline_kind != DeadlineKind.escalate
    )
