"""Warning the school before its term dates run out.

Deadlines count school days, so beyond the last known term no deadline can be worked out. Parents
are never refused for it (their case is received and the deadline shows "not set yet"), but an
administrator must add the next dates in time: the staff home says so, and `portal remind`
emails every admin once, six weeks before the dates run out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.calendar import format_date, load_calendar
from portal.clock import school_today
from portal.config import Settings
from portal.db import now_of
from portal.history import Actor, HistoryEvent, record_event
from portal.mail import queue_mail
from portal.wording.services import render as render_wording

WARN_BEFORE = timedelta(weeks=6)
WARNED_TAG = "term-dates:running-out"


@dataclass(frozen=True)
class TermDatesWarning:
    last_known_day: date
    days_left: int

    @property
    def text(self) -> str:
        if self.days_left < 0:
            return (
                f"The term dates ran out on {format_date(self.last_known_day)}. New cases are "
                "received, but their deadlines cannot be set until the next term dates are added."
            )
        return (
            f"The term dates run out on {format_date(self.last_known_day)}, in {self.days_left} "
            "days. Add the next school year's term dates so that deadlines can still be worked out."
        )


def running_out(session: Session, settings: Settings) -> TermDatesWarning | None:
    """A warning when the known term dates end within six weeks (or already have)."""
    last = load_calendar(settings.term_dates_file).last_known_day
    today = school_today(now_of(session))
    if last - today > WARN_BEFORE:
        return None
    return TermDatesWarning(last_known_day=last, days_left=(last - today).days)


def warn_admins(session: Session, settings: Settings) -> int:
    """Email every active admin once per last known day; returns how many were emailed."""
    warning = running_out(session, settings)
    if warning is None:
        return 0
    subject_id = warning.last_known_day.isoformat()
    already = session.scalar(
        select(HistoryEvent.id).where(
            HistoryEvent.subject_type == "term_dates",
            HistoryEvent.subject_id == subject_id,
            HistoryEvent.tag == WARNED_TAG,
        )
    )
    if already is not None:
        return 0
    admins = [
        user
        for user in session.scalars(select(StaffUser).where(StaffUser.is_active.is_(True)))
        if user.has_role(Role.admin)
    ]
    for admin in admins:
        message = render_wording(
            session,
            "term-dates-running-out",
            {
                "recipient_name": admin.name,
                "warning": warning.text,
                "staff_link": f"{settings.base_url}/staff",
            },
        )
        queue_mail(session, to=admin.email, subject=message.subject, body_text=message.body + "\n")
    record_event(
        session,
        subject_type="term_dates",
        subject_id=subject_id,
        tag=WARNED_TAG,
        actor=Actor.system(),
        detail={"admins_emailed": len(admins)},
    )
    return len(admins)
