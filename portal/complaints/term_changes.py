"""When the term dates change, every open case's deadline is worked out again at once.

Registered with `portal.school.term_dates.on_term_dates_changed` by the complaints domain, so the
school package (core) never imports complaints. Runs inside the admin's change, one transaction:
each case whose stored deadline moves gets its "complaint:deadline:moved" history event, and a
deadline that was "not set yet" because the dates ran out is set as soon as the dates reach it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from portal.calendar import CalendarExhaustedError, format_date
from portal.complaints import services
from portal.complaints.models import NO_DEADLINE, Complaint, DeadlineKind
from portal.complaints.services import notices
from portal.history import Actor, record_event
from portal.school.services import school_of
from portal.school.term_dates import MovedCase


def recompute_open_cases(session: Session, viewer: Any) -> list[MovedCase]:
    """Store every active case's deadline as the new term dates give it; the cases moved, each
    marked with whether `viewer` may open it (never more than that about a hidden case)."""
    cases = list(
        session.scalars(
            select(Complaint)
            .where(Complaint.is_active.is_(True), Complaint.deadline_kind.is_not(None))
            .order_by(Complaint.id)
            .with_for_update()
        )
    )
    calendar = services.school_calendar(session)
    school = school_of(session)
    moved: list[tuple[Complaint, Any, Any]] = []
    for case in cases:
        old = case.next_deadline
        _take_timescale(school, case)
        services.refresh_deadline(session, case)
        if case.next_deadline != old:
            moved.append((case, old, case.next_deadline))
            continue
        if old is not None and case.deadline_extended_to is None and case.deadline_from:
            # The dates no longer reach this deadline (its term was removed): "not set yet"
            # rather than a date the calendar can no longer stand behind.
            try:
                calendar.explain(case.deadline_from, case.deadline_school_days or 0)
            except CalendarExhaustedError:
                _unset(session, case, old)
                moved.append((case, old, None))
    if not moved:
        return []
    for case, old, new in moved:
        if old is not None and new is not None:
            _tell_parent(session, case, old, new)
    visible = _visible_ids(session, viewer, [case.id for case, _, _ in moved])
    return [
        MovedCase(reference=case.reference, old=old, new=new, visible=case.id in visible)
        for case, old, new in moved
    ]


def _take_timescale(school: Any, case: Complaint) -> None:
    """A deadline nobody extended counts the school's timescale as it is now (an admin may have
    just changed it); a date the handler set by hand stays."""
    if case.deadline_extended_to is not None or case.deadline_kind is None:
        return
    days = services.timescale_days(school, DeadlineKind(case.deadline_kind), case.stage_enum)
    if case.deadline_school_days != days:
        case.deadline_school_days = days


WHAT_MOVED = {
    DeadlineKind.acknowledge: "We will now reply to say we have it by",
    DeadlineKind.respond: "We will now send our response by",
    DeadlineKind.panel: "The governors' panel will now give its outcome by",
    DeadlineKind.escalate: "You can now ask for the next stage until",
}


def _tell_parent(session: Session, case: Complaint, old: date, new: date) -> None:
    """The parent was given a date; it moved, so they are told the new one and why."""
    what = WHAT_MOVED.get(DeadlineKind(case.deadline_kind), "The date is now")
    notices._email_parent(
        session,
        None,
        case,
        "date-moved",
        what_moved=what,
        old_date=format_date(old),
        new_date=format_date(new),
    )


def _unset(session: Session, case: Complaint, old: Any) -> None:
    case.next_deadline = None
    case.queue_date = NO_DEADLINE
    case.reminded_for = None
    session.add(case)
    record_event(
        session,
        subject_type="complaint",
        subject_id=case.id,
        tag="complaint:deadline:moved",
        actor=Actor.system(),
        from_value=old.isoformat(),
        to_value=None,
        detail={"reason": "term dates changed: the dates no longer reach this deadline"},
    )


def _visible_ids(session: Session, viewer: Any, ids: list[int | None]) -> set[int]:
    """The moved cases `viewer` may open, by the one visibility rule."""
    if viewer is None:
        return set()
    return set(
        session.scalars(
            select(Complaint.id).where(Complaint.id.in_(ids), services.visibility_clause(viewer))
        )
    )
