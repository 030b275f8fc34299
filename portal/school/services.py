"""Reading the school profile: one frozen snapshot, the only way code and templates see it.

Services call `school_of(session)`; routes take `SchoolDep` (portal/school/web.py); templates get
`school` from the page renderer. None of them sees the deployment `Settings`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from portal.calendar import SchoolCalendar, Term, TermDatesError, parse_term_dates
from portal.school.models import SchoolClosure, SchoolProfile, SchoolTerm
from portal.school.stamp import keep, kept

DEFAULT_CATEGORIES: tuple[str, ...] = (
    "Teaching and learning",
    "Behaviour and bullying",
    "Special educational needs support",
    "Communication with the school",
    "School trips and activities",
    "Uniform and equipment",
    "Food and lunchtimes",
    "Premises and safety",
    "Charges and payments",
    "Something else",
)

DEFAULT_OUT_OF_SCOPE: tuple[dict[str, str], ...] = (
    {
        "key": "admissions",
        "name": "School admissions",
        "where": "Admissions appeals go to the admission authority (usually the local council).",
        "url": "",
    },
    {
        "key": "exclusions",
        "name": "Suspensions and exclusions",
        "where": "Exclusions are reviewed by the governing board under the exclusions guidance.",
        "url": "",
    },
    {
        "key": "send",
        "name": "SEND assessments and EHC plans",
        "where": "Decisions about EHC needs assessments are made by the local council's SEND team.",
        "url": "",
    },
    {
        "key": "safeguarding",
        "name": "Safeguarding",
        "where": "Concerns about a child's safety go to the Designated Safeguarding Lead at once.",
        "url": "",
    },
    {
        "key": "whistleblowing",
        "name": "Whistleblowing",
        "where": "Staff raise whistleblowing concerns under the school's whistleblowing policy.",
        "url": "",
    },
    {
        "key": "grievance",
        "name": "Staff grievances",
        "where": "Staff grievances follow the school's grievance procedure.",
        "url": "",
    },
)


@dataclass(frozen=True)
class OutOfScope:
    """A matter that has its own procedure, and where the parent should go instead."""

    key: str
    name: str
    where: str
    url: str = ""


@dataclass(frozen=True)
class LetterParagraph:
    title: str
    text: str


@dataclass(frozen=True)
class School:
    """The school profile as code and templates read it (no crest bytes, nothing secret)."""

    id: int | None
    name: str
    brand_colour: str = "#1d70b8"
    crest_version: int = 0
    contact_email: str = ""
    contact_phone: str = ""
    contact_address: str = ""
    website_url: str = ""
    official_channels: tuple[str, ...] = ()
    acknowledge_within_days: int = 5
    concern_response_days: int = 10
    stage1_response_days: int = 10
    escalation_window_days: int = 10
    stage2_outcome_days: int = 20
    late_after_months: int = 3
    reminder_days_before: int = 2
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    out_of_scope: tuple[OutOfScope, ...] = field(
        default_factory=lambda: tuple(OutOfScope(**entry) for entry in DEFAULT_OUT_OF_SCOPE)
    )
    letter_paragraphs: tuple[LetterParagraph, ...] = ()
    is_set_up: bool = False

    @property
    def has_crest(self) -> bool:
        return self.crest_version > 0

    @property
    def late_after_words(self) -> str:
        """ "3 months", "1 month": how the procedure names the late-complaint limit."""
        months = self.late_after_months
        return f"{months} month" if months == 1 else f"{months} months"

    def procedure(self, key: str) -> OutOfScope | None:
        return next((entry for entry in self.out_of_scope if entry.key == key), None)


NOT_SET_UP = School(id=None, name="School parent portal")


def snapshot(profile: SchoolProfile) -> School:
    return School(
        id=profile.id,
        name=profile.name,
        brand_colour=profile.brand_colour,
        crest_version=profile.crest_version if profile.crest_media_type else 0,
        contact_email=profile.contact_email,
        contact_phone=profile.contact_phone,
        contact_address=profile.contact_address,
        website_url=profile.website_url,
        official_channels=tuple(profile.official_channels or ()),
        acknowledge_within_days=profile.acknowledge_within_days,
        concern_response_days=profile.concern_response_days,
        stage1_response_days=profile.stage1_response_days,
        escalation_window_days=profile.escalation_window_days,
        stage2_outcome_days=profile.stage2_outcome_days,
        late_after_months=profile.late_after_months,
        reminder_days_before=profile.reminder_days_before,
        categories=tuple(profile.categories or ()),
        out_of_scope=tuple(_out_of_scope(entry) for entry in profile.out_of_scope or ()),
        letter_paragraphs=tuple(
            LetterParagraph(str(entry.get("title", "")), str(entry.get("text", "")))
            for entry in profile.letter_paragraphs or ()
        ),
        is_set_up=profile.set_up_at is not None,
    )


def _out_of_scope(entry: dict[str, Any]) -> OutOfScope:
    return OutOfScope(
        key=str(entry.get("key", "")),
        name=str(entry.get("name", "")),
        where=str(entry.get("where", "")),
        url=str(entry.get("url", "") or ""),
    )


_CACHE_KEY = "portal.settings.school"


def profile_row(session: Session) -> SchoolProfile | None:
    """The one school this portal serves (the lowest id, should a second row ever exist)."""
    statement = select(SchoolProfile).order_by(SchoolProfile.id).limit(1)
    # The crest's bytes are read only by the page that serves it, not on every request.
    return session.exec(statement.options(defer(SchoolProfile.crest_image))).first()


def school_of(session: Session) -> School:
    """The school, read once per session (a request, a CLI command) and kept for its length;
    between sessions, kept by the process under the settings stamp (`portal.school.stamp`)."""
    cached = session.info.get(_CACHE_KEY)
    if cached is not None:
        return cached
    school = kept(session, "school")
    if school is None:
        row = profile_row(session)
        school = snapshot(row) if row is not None else NOT_SET_UP
        if row is not None:
            keep(session, "school", school)
    session.info[_CACHE_KEY] = school
    return school


def forget_school(session: Session) -> None:
    """After the profile changes, the next read in this session sees the new values."""
    session.info.pop(_CACHE_KEY, None)


# ---------------------------------------------------------------- term dates

_CALENDAR_KEY = "portal.settings.calendar"


def calendar_of(session: Session) -> SchoolCalendar:
    """The school's calendar (terms, closures, bank holidays) as stored now: an admin's change
    is seen by the very next request, with no restart. Read once per session."""
    cached = session.info.get(_CALENDAR_KEY)
    if cached is not None:
        return cached
    calendar = kept(session, "calendar")
    if calendar is not None:
        session.info[_CALENDAR_KEY] = calendar
        return calendar
    school = school_of(session)
    terms: list[Term] = []
    closures: list[date] = []
    if school.id is not None:
        terms = [
            Term(name=row.name, start=row.start, end=row.end)
            for row in session.exec(select(SchoolTerm).where(SchoolTerm.school_id == school.id))
        ]
        closures = list(
            session.exec(select(SchoolClosure.day).where(SchoolClosure.school_id == school.id))
        )
    calendar = _calendar_for(tuple(sorted(terms, key=lambda t: t.start)), frozenset(closures))
    session.info[_CALENDAR_KEY] = calendar
    if school.id is not None:
        keep(session, "calendar", calendar)
    return calendar


@lru_cache(maxsize=16)
def _calendar_for(terms: tuple[Term, ...], closures: frozenset[date]) -> SchoolCalendar:
    """Built once per set of dates: the rows are read every time (a change shows at once), the
    school-day arithmetic and bank holidays are worked out only when the dates change."""
    return SchoolCalendar(terms, closures, allow_empty=True)


def forget_calendar(session: Session) -> None:
    session.info.pop(_CALENDAR_KEY, None)


def replace_term_dates(
    session: Session,
    school_id: int,
    terms: Iterable[Term],
    closures: Iterable[date | tuple[date, str]],
) -> SchoolCalendar:
    """Put these term dates in place of the school's current ones (checked first: overlapping
    terms or a closure outside every term raise TermDatesError and change nothing)."""
    terms = list(terms)
    pairs = [item if isinstance(item, tuple) else (item, "") for item in closures]
    calendar = SchoolCalendar(terms, [day for day, _ in pairs], allow_empty=True)
    session.execute(delete(SchoolClosure).where(SchoolClosure.school_id == school_id))
    session.execute(delete(SchoolTerm).where(SchoolTerm.school_id == school_id))
    for term in calendar.terms:
        session.add(SchoolTerm(school_id=school_id, name=term.name, start=term.start, end=term.end))
    for day, reason in sorted(set(pairs)):
        session.add(SchoolClosure(school_id=school_id, day=day, reason=reason))
    session.flush()
    forget_calendar(session)
    return calendar


def read_term_dates_file(path: Path) -> tuple[list[Term], list[date]]:
    """Terms and closures from a TOML term dates file (the demo's and the tests' format)."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise TermDatesError(f"{path} is not valid TOML (check the dates): {error}") from error
    return parse_term_dates(data, path)
