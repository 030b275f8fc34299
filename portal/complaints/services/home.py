"""Each person's own view of the procedure: what is their move now, what waits for someone else,
and what falls due this week. Every list goes through the one visibility rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, not_, or_, select, union_all
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.complaints.models import About, Complaint, Stage, Status
from portal.complaints.services.access import visibility_clause

HOME_LIMIT = 10
# A week view lists at most this many cases due, and the longest-waiting overdue ones; past
# that the queue (sorted by date, or overdue only) is the place to work through them.
WEEK_LIMIT = 100
OVERDUE_SHOWN = 20


def _sorts(user: StaffUser) -> set[str]:
    """The new cases that are this person's to sort, by the procedure's routing: office sorts
    cases about the school or a member of staff; the chair and the clerk those about the head
    or a governor (they may sort any, but the office's are not theirs to do)."""
    abouts: set[str] = set()
    if user.has_role(Role.office):
        abouts |= {About.school.value, About.staff.value}
    if user.has_role(Role.chair, Role.clerk):
        abouts |= {About.head.value, About.governor.value}
    return abouts


def _your_move_parts(user: StaffUser) -> list[ColumnElement[bool]]:
    """`your_move_clause` as parts that never overlap (one status each), so that each is one
    range of an index in queue order: new and held cases by status, open ones by handler."""
    sorts = _sorts(user)
    parts: list[ColumnElement[bool]] = (
        [
            and_(Complaint.status == status, Complaint.about.in_(sorts))
            for status in (Status.new, Status.held)
        ]
        if sorts
        else []
    )
    delegated = and_(Complaint.delegate_user_id.is_not(None), Complaint.stage != Stage.stage2)
    parts.append(
        and_(Complaint.handler_user_id == user.id, Complaint.status == Status.open, ~delegated)
    )
    if user.has_role(Role.senior_leader):  # only a senior leader is ever given a case
        parts.append(
            and_(Complaint.delegate_user_id == user.id, Complaint.status == Status.open, delegated)
        )
    return parts


def your_move_clause(user: StaffUser) -> ColumnElement[bool]:
    """Cases waiting on this person: new or held ones to sort, open ones they must answer (a
    case given to a senior leader is theirs to answer, not the handler's, until stage 2)."""
    return or_(*_your_move_parts(user))


def is_your_move(user: StaffUser, case: Complaint) -> bool:
    """`your_move_clause` for a case already loaded (the same rule, without a query)."""
    if case.status in (Status.new, Status.held):
        return case.about in _sorts(user)
    if case.status != Status.open:
        return False
    if case.delegate_user_id is not None and case.stage != Stage.stage2:
        return case.delegate_user_id == user.id
    return case.handler_user_id == user.id


@dataclass(frozen=True)
class Home:
    your_move: list[Complaint]
    your_move_count: int
    waiting: list[Complaint]  # the first few only: counting them all would read every open case


def home_lists(session: Session, user: StaffUser, *, limit: int = HOME_LIMIT) -> Home:
    """Soonest deadline first (so overdue cases lead), cases with no date yet last.

    "Your move" is read part by part (see `_your_move_parts`): the first `limit` cases of each
    part, then the first `limit` of those; the count adds up each part's count, in one query.
    As one OR, the databases read every case up to the page or counted every open case."""
    visible = visibility_clause(user)
    # Held cases are active=False (out of the queue) but still office's move to release.
    parts = [and_(visible, part) for part in _your_move_parts(user)]
    waiting = and_(visible, Complaint.is_active.is_(True), not_(your_move_clause(user)))
    order = (Complaint.queue_date, Complaint.id)
    firsts = [
        select(Complaint.id).where(part).order_by(*order).limit(limit).subquery().select()
        for part in parts
    ]
    counts = [select(func.count()).where(part).scalar_subquery() for part in parts]
    return Home(
        your_move=list(
            session.scalars(
                select(Complaint)
                .where(Complaint.id.in_(union_all(*firsts) if len(firsts) > 1 else firsts[0]))
                .order_by(*order)
                .limit(limit)
            )
        ),
        your_move_count=sum(session.execute(select(*counts)).one()),
        waiting=list(
            session.scalars(select(Complaint).where(waiting).order_by(*order).limit(limit))
        ),
    )


@dataclass(frozen=True)
class WeekDay:
    day: date
    cases: list[Complaint]


@dataclass(frozen=True)
class Week:
    monday: date
    days: list[WeekDay]  # Monday to Friday
    overdue: list[Complaint]  # before this week and still waiting (only on the current week)
    more: bool  # more than WEEK_LIMIT cases fall due: the list is cut
    more_overdue: bool = False  # more than OVERDUE_SHOWN are overdue: the longest waiting shown


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_view(session: Session, user: StaffUser, monday: date, today: date) -> Week:
    """The active cases this person may see whose next date falls in the week from `monday`."""
    end = monday + timedelta(days=7)
    visible = visibility_clause(user)
    # By the queue's date, which is the next date (or NO_DEADLINE when there is none): one range
    # of ix_complaint_queue in order, where the next date has no index.
    due = and_(
        visible,
        Complaint.is_active.is_(True),
        Complaint.queue_date >= monday,
        Complaint.queue_date < end,
    )
    rows = list(
        session.scalars(
            select(Complaint)
            .where(due)
            .order_by(Complaint.queue_date, Complaint.id)
            .limit(WEEK_LIMIT + 1)
        )
    )
    more = len(rows) > WEEK_LIMIT
    rows = rows[:WEEK_LIMIT]
    by_day: dict[date, list[Complaint]] = {monday + timedelta(days=n): [] for n in range(5)}
    for case in rows:
        if case.next_deadline is not None:
            # A date at a weekend (none should be: dates are school days) shows on the Friday.
            by_day.setdefault(min(case.next_deadline, monday + timedelta(days=4)), []).append(case)
    overdue: list[Complaint] = []
    if monday == week_of(today):
        overdue = list(
            session.scalars(
                select(Complaint)
                .where(
                    visible,
                    Complaint.is_active.is_(True),
                    Complaint.queue_date < monday,
                    Complaint.deadline_kind != "escalate",
                )
                .order_by(Complaint.queue_date, Complaint.id)
                .limit(OVERDUE_SHOWN + 1)
            )
        )
    return Week(
        monday=monday,
        days=[WeekDay(day, cases) for day, cases in sorted(by_day.items())],
        overdue=overdue[:OVERDUE_SHOWN],
        more=more,
        more_overdue=len(overdue) > OVERDUE_SHOWN,
    )


def next_move(case: Complaint) -> str:
    """What the person whose move it is has to do next, in a few words."""
    if case.status == Status.held:
        return "Check it and release it into the queue"
    if case.status == Status.new:
        return "Sort it and give it to a handler"
    if case.stage == Stage.stage2:
        return "Record the panel, then send its outcome"
    if case.stage == Stage.concern:
        return "Send the reply to the concern"
    return "Send the stage 1 response"


def waiting_for(case: Complaint, names: Mapping[int, StaffUser]) -> str:
    """Who a case is waiting for, when it is not this person."""
    if case.status == Status.new:
        return "Waiting to be sorted"
    if case.status == Status.responded:
        return "Answered: the parent may ask for the next stage"
    handler = names.get(case.handler_user_id) if case.handler_user_id else None
    delegate = names.get(case.delegate_user_id) if case.delegate_user_id else None
    if delegate is not None and case.stage != Stage.stage2:
        return f"With {delegate.name}" + (f" (given by {handler.name})" if handler else "")
    if case.stage == Stage.stage2:
        return "With the governors' panel" + (f" ({handler.name}, clerk)" if handler else "")
    return f"Being looked into by {handler.name}" if handler else "Being looked into"
