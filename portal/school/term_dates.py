"""Term dates as admins edit them: the rules behind /staff/settings/term-dates.

- Every change (add, change or remove a term; add or remove a closure day; an import) takes the
  school profile's row lock first (`with_for_update`), reads the dates again under it, checks the
  whole new set with `SchoolCalendar`'s own checks, writes it, records one history event and then
  tells every listener (`on_term_dates_changed`), all in the caller's one transaction. Two admins
  editing at once are put one after the other; a change to a term or closure that the other
  admin has just removed, or an import previewed on dates that have changed since, is refused
  with `TermDatesConflict` ("changed by someone else: check and try again").
- Listeners are how a domain hears about a change without the school package importing it: the
  Complaints Procedure recomputes every open case's deadline (portal/complaints/term_changes.py).
- The year calendar (`school_years`) the page shows, and the warning that the known dates run out
  (`running_out`, the staff home banner and `portal remind`'s email to admins).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session, select

from portal.accounts.models import Role, StaffUser
from portal.calendar import SchoolCalendar, Term, TermDatesError, format_date
from portal.clock import school_today
from portal.config import Settings
from portal.db import now_of
from portal.history import Actor, HistoryEvent, record_event
from portal.mail import queue_mail
from portal.school.models import SchoolClosure, SchoolProfile, SchoolTerm
from portal.school.services import calendar_of, forget_calendar, school_of
from portal.wording.services import render as render_wording

TERM_NAME_LIMIT = 80  # school_term.name
REASON_LIMIT = 120  # school_closure.reason
HISTORY_SUBJECT = "term_dates"
DATE_PARTS = ("day", "month", "year")


# ---------------------------------------------------------------- reading what was typed


class TermDatesInputError(ValueError):
    """What an admin typed cannot be used: `errors` maps each field id to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class TermDatesConflict(RuntimeError):
    """Another admin changed the term dates between this page loading and its form being sent."""

    MESSAGE = (
        "Someone else changed the term dates while you were looking at them. "
        "Nothing was changed by you: check the dates below and try again."
    )

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


def read_date(
    prefix: str, label: str, parts: dict[str, str], errors: dict[str, str]
) -> date | None:
    """A GOV.UK date input (`<prefix>_day`, `_month`, `_year`): the date, or None with the
    problem, naming the field, added to `errors` under the id of its first part to fix."""
    given = {name: (parts.get(name) or "").strip() for name in DATE_PARTS}
    if not any(given.values()):
        errors[f"{prefix}_day"] = f"Enter the {label}"
        return None
    missing = [name for name in DATE_PARTS if not given[name]]
    if missing:
        errors[f"{prefix}_{missing[0]}"] = f"The {label} must include a " + " and a ".join(missing)
        return None
    not_numbers = [
        name for name in DATE_PARTS if not (given[name].isascii() and given[name].isdigit())
    ]
    if not_numbers:
        errors[f"{prefix}_{not_numbers[0]}"] = (
            f"The {label} must be a real date, using numbers, like 1 9 2026"
        )
        return None
    if len(given["year"]) != 4:
        errors[f"{prefix}_year"] = f"The year of the {label} must have 4 numbers, like 2026"
        return None
    try:
        found = date(int(given["year"]), int(given["month"]), int(given["day"]))
    except (ValueError, OverflowError):
        errors[f"{prefix}_day"] = f"The {label} must be a real date, like 1 9 2026"
        return None
    if not 2000 <= found.year <= 2100:
        errors[f"{prefix}_year"] = f"The {label} must be a date between 2000 and 2100"
        return None
    return found


def date_parts(prefix: str, value: date | None) -> dict[str, str]:
    """The values a date input shows for a stored date."""
    if value is None:
        return {}
    return {
        f"{prefix}_day": str(value.day),
        f"{prefix}_month": str(value.month),
        f"{prefix}_year": str(value.year),
    }


@dataclass(frozen=True)
class TermInput:
    name: str
    start: date
    end: date


def read_term(form: dict[str, str]) -> TermInput:
    """A term from the add/change form: a name, a first and a last day."""
    errors: dict[str, str] = {}
    name = " ".join((form.get("name") or "").split())
    if not name:
        errors["name"] = "Enter the term's name, like Autumn term 1"
    elif len(name) > TERM_NAME_LIMIT:
        errors["name"] = f"The term's name must be {TERM_NAME_LIMIT} characters or fewer"
    start = read_date("start", "first day of the term", _parts(form, "start"), errors)
    end = read_date("end", "last day of the term", _parts(form, "end"), errors)
    if start and end and end < start:
        errors["end_day"] = "The last day of the term must be on or after its first day"
    if errors:
        raise TermDatesInputError(errors)
    assert start is not None and end is not None
    return TermInput(name=name, start=start, end=end)


@dataclass(frozen=True)
class ClosureInput:
    day: date
    reason: str


def read_closure(form: dict[str, str]) -> ClosureInput:
    errors: dict[str, str] = {}
    day = read_date("day", "closure day", _parts(form, "day"), errors)
    reason = " ".join((form.get("reason") or "").split())
    if not reason:
        errors["reason"] = "Enter why the school is closed, like INSET"
    elif len(reason) > REASON_LIMIT:
        errors["reason"] = f"The reason must be {REASON_LIMIT} characters or fewer"
    if errors:
        raise TermDatesInputError(errors)
    assert day is not None
    return ClosureInput(day=day, reason=reason)


def _parts(form: dict[str, str], prefix: str) -> dict[str, str]:
    return {name: form.get(f"{prefix}_{name}", "") for name in DATE_PARTS}


# ---------------------------------------------------------------- who hears of a change


@dataclass(frozen=True)
class MovedCase:
    """A case whose deadline a change moved; `visible` is whether the admin may open it."""

    reference: str
    old: date | None
    new: date | None
    visible: bool


# A listener gets the session (the change's own transaction) and the person who made the change,
# and returns the cases it moved.
Listener = Callable[[Session, Any], list[MovedCase]]
_listeners: list[Listener] = []


def on_term_dates_changed(listener: Listener) -> Listener:
    """Call `listener` after every change to the term dates, in the same transaction."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def tell_listeners(session: Session, user: Any) -> list[MovedCase]:
    forget_calendar(session)
    moved: list[MovedCase] = []
    for listener in _listeners:
        moved.extend(listener(session, user))
    return moved


@dataclass(frozen=True)
class ChangeResult:
    """What one change did, for the page that follows it."""

    done: str
    moved: list[MovedCase] = field(default_factory=list)

    @property
    def shown(self) -> list[MovedCase]:
        """Only cases the person may open: a case they cannot see is never named."""
        return [case for case in self.moved if case.visible]

    @property
    def hidden_count(self) -> int:
        return sum(1 for case in self.moved if not case.visible)


# ---------------------------------------------------------------- the stored dates, locked


@dataclass(frozen=True)
class StoredDates:
    terms: list[SchoolTerm]
    closures: list[SchoolClosure]

    @property
    def fingerprint(self) -> str:
        """Changes whenever any term or closure does: an import previewed on other dates is
        refused rather than applied to dates the admin has not seen."""
        return dates_fingerprint(
            [Term(row.name, row.start, row.end) for row in self.terms],
            [(row.day, row.reason) for row in self.closures],
        )


def dates_fingerprint(terms: Iterable[Term], closures: Iterable[tuple[date, str]]) -> str:
    text = repr(
        (
            sorted((t.start, t.end, t.name) for t in terms),
            sorted(closures),
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def stored_dates(session: Session, school_id: int) -> StoredDates:
    terms = list(
        session.exec(
            select(SchoolTerm).where(SchoolTerm.school_id == school_id).order_by(SchoolTerm.start)  # type: ignore[arg-type]
        )
    )
    closures = list(
        session.exec(
            select(SchoolClosure)
            .where(SchoolClosure.school_id == school_id)
            .order_by(SchoolClosure.day)  # type: ignore[arg-type]
        )
    )
    return StoredDates(terms, closures)


def lock_dates(session: Session, school_id: int) -> StoredDates:
    """Take the school profile's row lock (PostgreSQL honours it; SQLite has one writer at a
    time anyway), then read the dates as they are now, never as a cached copy."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE and reads outside a transaction: a write takes its one
        # writer's lock now, so a second change waits here and then reads the first one's dates.
        session.execute(
            sa_update(SchoolProfile)
            .where(SchoolProfile.id == school_id)  # type: ignore[arg-type]
            .values(id=SchoolProfile.id)
        )
    session.execute(
        sa_select(SchoolProfile.id)  # type: ignore[call-overload]
        .where(SchoolProfile.id == school_id)
        .with_for_update()
    ).one()
    session.expire_all()
    forget_calendar(session)
    return stored_dates(session, school_id)


def _check(
    terms: Sequence[Term], closures: Iterable[date], field_for: Callable[[str], str]
) -> None:
    """The calendar's own checks on the whole new set; its message, under the field at fault."""
    try:
        SchoolCalendar(list(terms), list(closures), allow_empty=True)
    except TermDatesError as error:
        raise TermDatesInputError({field_for(str(error)): _plain(str(error))}) from error


def _plain(message: str) -> str:
    """The calendar speaks in ISO dates (its messages are also for the TOML file); admins read
    dates in words on this page."""
    import re

    def words(match: re.Match[str]) -> str:
        try:
            return format_date(date.fromisoformat(match.group(0)))
        except ValueError:
            return match.group(0)

    return re.sub(r"\d{4}-\d{2}-\d{2}", words, message)


def _terms_of(stored: StoredDates) -> list[Term]:
    return [Term(row.name, row.start, row.end) for row in stored.terms]


def _school_id(session: Session) -> int:
    school = school_of(session)
    if school.id is None:
        raise TermDatesInputError({"name": "Set up the school's profile first"})
    return school.id


def _record(session: Session, user: StaffUser, tag: str, **values: Any) -> None:
    record_event(
        session,
        subject_type=HISTORY_SUBJECT,
        subject_id=str(_school_id(session)),
        tag=tag,
        actor=Actor.staff(user),
        **values,
    )


def _describe_term(name: str, start: date, end: date) -> str:
    return f"{name} ({format_date(start)} to {format_date(end)})"


# ---------------------------------------------------------------- the changes


def add_term(session: Session, user: StaffUser, term: TermInput) -> ChangeResult:
    school_id = _school_id(session)
    stored = lock_dates(session, school_id)
    new = Term(term.name, term.start, term.end)
    _check([*_terms_of(stored), new], [row.day for row in stored.closures], _term_field)
    session.add(SchoolTerm(school_id=school_id, name=new.name, start=new.start, end=new.end))
    session.flush()
    _record(
        session,
        user,
        "term-dates:term:added",
        to_value=_describe_term(new.name, new.start, new.end),
    )
    return ChangeResult(f"{new.name} added", tell_listeners(session, user))


def change_term(session: Session, user: StaffUser, term_id: int, term: TermInput) -> ChangeResult:
    school_id = _school_id(session)
    stored = lock_dates(session, school_id)
    row = next((t for t in stored.terms if t.id == term_id), None)
    if row is None:
        raise TermDatesConflict()
    others = [Term(t.name, t.start, t.end) for t in stored.terms if t.id != term_id]
    new = Term(term.name, term.start, term.end)
    _check([*others, new], [c.day for c in stored.closures], _term_field)
    before = _describe_term(row.name, row.start, row.end)
    row.name, row.start, row.end = new.name, new.start, new.end
    session.add(row)
    session.flush()
    _record(
        session,
        user,
        "term-dates:term:changed",
        from_value=before,
        to_value=_describe_term(new.name, new.start, new.end),
    )
    return ChangeResult(f"{new.name} changed", tell_listeners(session, user))


def remove_term(session: Session, user: StaffUser, term_id: int) -> ChangeResult:
    """The term goes, and with it the closure days inside it (they would be in no term)."""
    school_id = _school_id(session)
    stored = lock_dates(session, school_id)
    row = next((t for t in stored.terms if t.id == term_id), None)
    if row is None:
        raise TermDatesConflict()
    inside = [c for c in stored.closures if row.start <= c.day <= row.end]
    for closure in inside:
        session.delete(closure)
    session.delete(row)
    session.flush()
    _record(
        session,
        user,
        "term-dates:term:removed",
        from_value=_describe_term(row.name, row.start, row.end),
        detail={"closures_removed": [c.day.isoformat() for c in inside]},
    )
    done = f"{row.name} removed"
    if inside:
        days = "day" if len(inside) == 1 else "days"
        done += f", with its {len(inside)} closure {days}"
    return ChangeResult(done, tell_listeners(session, user))


def add_closure(session: Session, user: StaffUser, closure: ClosureInput) -> ChangeResult:
    school_id = _school_id(session)
    stored = lock_dates(session, school_id)
    day = closure.day
    if day.weekday() >= 5:
        raise TermDatesInputError(
            {"day_day": f"{format_date(day)} is a weekend day: the school is closed anyway"}
        )
    bank_holiday = calendar_of(session).bank_holiday_name(day)
    if bank_holiday:
        raise TermDatesInputError(
            {
                "day_day": f"{format_date(day)} is a bank holiday ({bank_holiday}): it is not "
                "counted as a school day anyway"
            }
        )
    if any(c.day == day for c in stored.closures):
        raise TermDatesInputError({"day_day": f"{format_date(day)} is already a closure day"})
    _check(
        _terms_of(stored),
        [*(c.day for c in stored.closures), day],
        lambda _message: "day_day",
    )
    session.add(SchoolClosure(school_id=school_id, day=day, reason=closure.reason))
    session.flush()
    _record(
        session,
        user,
        "term-dates:closure:added",
        to_value=f"{format_date(day)}: {closure.reason}",
    )
    return ChangeResult(f"{format_date(day)} added as a closure day", tell_listeners(session, user))


def remove_closure(session: Session, user: StaffUser, closure_id: int) -> ChangeResult:
    school_id = _school_id(session)
    stored = lock_dates(session, school_id)
    row = next((c for c in stored.closures if c.id == closure_id), None)
    if row is None:
        raise TermDatesConflict()
    session.delete(row)
    session.flush()
    _record(
        session,
        user,
        "term-dates:closure:removed",
        from_value=f"{format_date(row.day)}: {row.reason}",
    )
    return ChangeResult(
        f"{format_date(row.day)} is no longer a closure day", tell_listeners(session, user)
    )


def _term_field(message: str) -> str:
    """Which field a calendar message is about: an overlap or a closure left outside is about
    the term's dates as a whole (the first day); running backwards, the last day."""
    if "ends before it starts" in message:
        return "end_day"
    return "start_day"


# ---------------------------------------------------------------- an import


@dataclass(frozen=True)
class ImportPlan:
    """Dates read from a file, to put in place of the school's dates from `start` to `end`."""

    terms: tuple[Term, ...]
    closures: tuple[tuple[date, str], ...]
    notes: tuple[str, ...] = ()

    @property
    def start(self) -> date:
        return min(t.start for t in self.terms)

    @property
    def end(self) -> date:
        return max(t.end for t in self.terms)


def replaced_by(
    stored: StoredDates, plan: ImportPlan
) -> tuple[list[SchoolTerm], list[SchoolClosure]]:
    """The stored terms and closures an import takes the place of: every one that overlaps its
    range, from its first term's first day to its last term's last day (and the closures of a
    term it replaces, which would otherwise be left in no term)."""
    terms = [t for t in stored.terms if t.start <= plan.end and t.end >= plan.start]
    closures = [
        c
        for c in stored.closures
        if plan.start <= c.day <= plan.end or any(t.start <= c.day <= t.end for t in terms)
    ]
    return terms, closures


def import_dates(
    session: Session, user: StaffUser, plan: ImportPlan, seen_fingerprint: str
) -> ChangeResult:
    """Replace the school's dates within the plan's range by the plan's (confirmed from the
    preview: refused when the dates changed after the preview was shown)."""
    school_id = _school_id(session)
    stored = lock_dates(session, school_id)
    if stored.fingerprint != seen_fingerprint:
        raise TermDatesConflict()
    old_terms, old_closures = replaced_by(stored, plan)
    kept_terms = [Term(t.name, t.start, t.end) for t in stored.terms if t not in old_terms]
    kept_closures = [c for c in stored.closures if c not in old_closures]
    # Closures kept from outside the range must still be in a term, and the new terms must not
    # overlap the kept ones: the calendar's checks say so.
    _check(
        [*kept_terms, *plan.terms],
        [*(c.day for c in kept_closures), *(day for day, _ in plan.closures)],
        lambda _message: "ics",
    )
    for row in [*old_closures, *old_terms]:
        session.delete(row)
    session.flush()
    for term in plan.terms:
        session.add(SchoolTerm(school_id=school_id, name=term.name, start=term.start, end=term.end))
    for day, reason in plan.closures:
        session.add(SchoolClosure(school_id=school_id, day=day, reason=reason))
    session.flush()
    _record(
        session,
        user,
        "term-dates:imported",
        from_value=f"{len(old_terms)} terms, {len(old_closures)} closure days",
        to_value=(
            f"{len(plan.terms)} terms, {len(plan.closures)} closure days from "
            f"{format_date(plan.start)} to {format_date(plan.end)}"
        ),
    )
    return ChangeResult(
        f"Term dates from {format_date(plan.start)} to {format_date(plan.end)} imported",
        tell_listeners(session, user),
    )


# ---------------------------------------------------------------- the year calendar


@dataclass(frozen=True)
class Day:
    day: date
    kind: str  # "term", "closure", "bank-holiday", "holiday", "weekend"
    note: str = ""

    @property
    def label(self) -> str:
        return {
            "term": "term day",
            "closure": "closure day",
            "bank-holiday": "bank holiday",
            "holiday": "school holiday",
            "weekend": "weekend",
        }[self.kind]

    @property
    def mark(self) -> str:
        """The letter shown in the day's box, so no day is told apart by colour alone."""
        return {"closure": "C", "bank-holiday": "B", "holiday": "H"}.get(self.kind, "")


@dataclass(frozen=True)
class Month:
    first: date
    weeks: list[list[Day | None]]

    @property
    def caption(self) -> str:
        return f"{format_date(self.first).split(' ', 2)[2]}"


@dataclass(frozen=True)
class SchoolYear:
    start_year: int
    months: list[Month]
    term_days: int

    @property
    def name(self) -> str:
        return f"{self.start_year} to {self.start_year + 1}"


def school_years(calendar: SchoolCalendar, reasons: dict[date, str]) -> list[SchoolYear]:
    """Every school year (September to August) the terms touch, month by month."""
    if calendar.is_empty:
        return []
    first = _year_of(calendar.first_known_day)
    last = _year_of(calendar.last_known_day)
    return [_school_year(calendar, reasons, year) for year in range(first, last + 1)]


def _year_of(day: date) -> int:
    return day.year if day.month >= 9 else day.year - 1


def _school_year(calendar: SchoolCalendar, reasons: dict[date, str], year: int) -> SchoolYear:
    months = []
    term_days = 0
    for offset in range(12):
        month = (8 + offset) % 12 + 1
        first = date(year + (1 if month < 9 else 0), month, 1)
        days: list[Day | None] = [None] * first.weekday()
        current = first
        while current.month == first.month:
            found = _day(calendar, reasons, current)
            term_days += found.kind == "term"
            days.append(found)
            current += timedelta(days=1)
        days.extend([None] * (-len(days) % 7))
        weeks = [days[i : i + 7] for i in range(0, len(days), 7)]
        months.append(Month(first=first, weeks=weeks))
    return SchoolYear(start_year=year, months=months, term_days=term_days)


def _day(calendar: SchoolCalendar, reasons: dict[date, str], day: date) -> Day:
    if day.weekday() >= 5:
        return Day(day, "weekend")
    bank_holiday = calendar.bank_holiday_name(day)
    if bank_holiday:
        return Day(day, "bank-holiday", bank_holiday)
    if calendar.term_for(day) is None:
        return Day(day, "holiday")
    if day in calendar.closures:
        return Day(day, "closure", reasons.get(day, ""))
    return Day(day, "term")


# ---------------------------------------------------------------- the dates run out

WARN_BEFORE = timedelta(weeks=6)
WARNED_TAG = "term-dates:running-out"


@dataclass(frozen=True)
class TermDatesWarning:
    last_known_day: date | None
    days_left: int

    @property
    def text(self) -> str:
        if self.last_known_day is None:
            return (
                "No term dates yet: add them. New cases are received, but their deadlines "
                "cannot be set until the term dates are added."
            )
        if self.days_left < 0:
            return (
                f"The term dates ran out on {format_date(self.last_known_day)}. New cases are "
                "received, but their deadlines cannot be set until the next term dates are added."
            )
        return (
            f"The term dates run out on {format_date(self.last_known_day)}, in {self.days_left} "
            "days. Add the next school year's term dates so that deadlines can still be worked out."
        )


def running_out(session: Session, settings: Settings | None = None) -> TermDatesWarning | None:
    """A warning when the stored term dates end within six weeks (or already have, or there
    are none yet)."""
    calendar = calendar_of(session)
    if calendar.is_empty:
        return TermDatesWarning(last_known_day=None, days_left=0)
    last = calendar.last_known_day
    today = school_today(now_of(session))
    if last - today > WARN_BEFORE:
        return None
    return TermDatesWarning(last_known_day=last, days_left=(last - today).days)


def warn_admins(session: Session, settings: Settings) -> int:
    """Email every active admin once per last known day; returns how many were emailed."""
    warning = running_out(session, settings)
    if warning is None:
        return 0
    subject_id = warning.last_known_day.isoformat() if warning.last_known_day else "none"
    already = session.scalar(
        sa_select(HistoryEvent.id).where(
            HistoryEvent.subject_type == HISTORY_SUBJECT,
            HistoryEvent.subject_id == subject_id,
            HistoryEvent.tag == WARNED_TAG,
        )
    )
    if already is not None:
        return 0
    admins = [
        user
        for user in session.scalars(sa_select(StaffUser).where(StaffUser.is_active.is_(True)))
        if user.has_role(Role.admin)
    ]
    for admin in admins:
        message = render_wording(
            session,
            "term-dates-running-out",
            {
                "recipient_name": admin.name,
                "warning": warning.text,
                "staff_link": f"{settings.base_url}/staff/settings/term-dates",
            },
        )
        queue_mail(session, to=admin.email, subject=message.subject, body_text=message.body + "\n")
    record_event(
        session,
        subject_type=HISTORY_SUBJECT,
        subject_id=subject_id,
        tag=WARNED_TAG,
        actor=Actor.system(),
        detail={"admins_emailed": len(admins)},
    )
    return len(admins)
