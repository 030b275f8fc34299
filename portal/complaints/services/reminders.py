"""The reminder run: deadlines coming up, lapsed escalation windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import (
    select,
)
from sqlmodel import Session

from portal.calendar import CalendarExhaustedError, format_date
from portal.clock import school_today
from portal.complaints.models import (
    Complaint,
    DeadlineKind,
    MessageKind,
    Status,
)
from portal.complaints.services.access import _office_staff, handler_of
from portal.complaints.services.deadlines import refresh_deadline, school_calendar
from portal.complaints.services.delegation import delegate_of
from portal.complaints.services.notices import _email_staff
from portal.complaints.services.state import _add_message, _change_status
from portal.config import Settings
from portal.db import now_of
from portal.history import Actor
from portal.school.services import school_of


@dataclass
class ReminderReport:
    reminded: int = 0
    closed: int = 0
    moved: int = 0


def remind(session: Session, settings: Settings, *, today: date | None = None) -> ReminderReport:
    """Safe to run every hour: each deadline is reminded once; lapsed windows are closed."""
    today = today or school_today(now_of(session))
    calendar = school_calendar(session)
    report = ReminderReport()
    try:
        horizon = calendar.add_school_days(
            calendar.next_school_day(today), school_of(session).reminder_days_before
        )
    except CalendarExhaustedError:
        # Beyond the known term dates: remind by calendar days rather than not at all.
        horizon = today + timedelta(days=school_of(session).reminder_days_before)
    active = session.scalars(
        select(Complaint).where(Complaint.is_active.is_(True), Complaint.deadline_kind.is_not(None))
    )
    for complaint in list(active):
        if refresh_deadline(session, complaint):
            report.moved += 1
        due = complaint.next_deadline
        if due is None:
            continue
        if complaint.deadline_kind == DeadlineKind.escalate:
            if due < today:
                text = "The time to ask for the next stage has passed, so this case is now closed."
                _add_message(session, complaint, MessageKind.school_message, text, Actor.system())
                _change_status(session, complaint, Status.closed, Actor.system(), lapsed=True)
                report.closed += 1
            continue
        if due <= horizon and complaint.reminded_for != due:
            handler = handler_of(session, complaint)
            recipients = [handler] if handler else _office_staff(session)
            delegate = delegate_of(session, complaint)  # looking into it for the handler
            recipients += [delegate] if delegate else []
            for person in recipients:
                _email_staff(
                    session,
                    settings,
                    person,
                    complaint,
                    "staff-reminder",
                    due_what=DeadlineKind(complaint.deadline_kind).label,
                    due_on=format_date(due),
                )
            complaint.reminded_for = due
            session.add(complaint)
            report.reminded += 1
    return report
