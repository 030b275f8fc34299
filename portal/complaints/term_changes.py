"""When the term dates change, every open case's deadline is worked out again at once.

Registered with `portal.school.term_dates.on_term_dates_changed` by the complaints domain, so the
school package (core) never imports complaints. Runs inside the admin's change, one transaction:
each case whose stored deadline moves gets its "complaint:deadline:moved" history event, and a
deadline that was "not set yet" because the dates ran out is set as soon as the dates reach it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from portal.calendar import CalendarExhaustedError
from portal.complaints import services
from portal.complaints.models import NO_DEADLINE, Complaint
from portal.history import Actor, record_event
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
    moved: list[tuple[Complaint, Any, Any]] = []
    for case in cases:
        old = case.next_deadline
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
    visible = _visible_ids(session, viewer, [case.id for case, _, _ in moved])
    return [
        MovedCase(reference=case.reference, old=old, new=new, visible=case.id in visible)
        for case, old, new in moved
    ]


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
