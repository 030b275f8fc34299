"""School-day arithmetic for statutory and policy deadlines.

The Complaints Procedure counts its deadlines in school days, not calendar days, so a deadline
depends on the school's term dates, its INSET/closure days and England and Wales bank holidays.
Everything here works from a term dates file kept by the school office; when a question reaches
beyond the dates the file covers, we raise instead of guessing, because a silently wrong
deadline is worse than an error that tells an administrator what to fix.
"""

from __future__ import annotations

import tomllib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Any

import holidays

__all__ = [
    "CalendarExhaustedError",
    "DeadlineExplanation",
    "SchoolCalendar",
    "Term",
    "TermDatesError",
    "format_date",
    "load_calendar",
    "parse_term_dates",
]

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_NO_HOLIDAYS: Mapping[date, str] = MappingProxyType({})
_TERM_KEYS = frozenset({"name", "start", "end"})
_TOP_LEVEL_KEYS = frozenset({"terms", "closures"})


class TermDatesError(ValueError):
    """The term dates are unusable; the message says which term or entry to fix."""


class CalendarExhaustedError(LookupError):
    """A date lies outside the known terms: no trustworthy answer until term dates are added."""


def format_date(d: date) -> str:
    """Format a date as "Monday 7 December 2026" without relying on the process locale.

    Parents and staff read these in letters and on screen, and ``strftime`` would follow
    whatever locale the server happens to run with (and pads the day with a zero).
    """
    return f"{_DAY_NAMES[d.weekday()]} {d.day} {_MONTH_NAMES[d.month - 1]} {d.year}"


@dataclass(frozen=True)
class Term:
    """One block of consecutive term time (normally a half-term), both ends inclusive."""

    name: str
    start: date
    end: date

    def __contains__(self, d: object) -> bool:
        """Let callers write ``d in term`` for the inclusive range check."""
        return isinstance(d, date) and self.start <= d <= self.end


@dataclass(frozen=True)
class DeadlineExplanation:
    """How a deadline was worked out, so staff can check it and parents can understand it."""

    received: date
    counted_from: date
    school_days: int
    deadline: date
    bank_holidays_skipped: list[tuple[date, str]] = field(default_factory=list)
    closures_skipped: list[date] = field(default_factory=list)
    non_term_weekdays_skipped: int = 0

    def summary(self, start: str | None = None) -> str:
        """Describe the calculation in plain English, suitable for a letter or a case note.

        `start` names what the count starts from when it is not the day the case was received,
        as it reads before that day's date ("the response letter, sent")."""
        if start is not None:
            if self.received == self.counted_from:
                opening = f"Counted from {start} {format_date(self.received)}."
            else:
                opening = (
                    f"Counted from {format_date(self.counted_from)}, the first school day "
                    f"after {start} {format_date(self.received)}."
                )
        elif self.received == self.counted_from:
            opening = f"Received and counted from {format_date(self.received)}."
        else:
            opening = (
                f"Received {format_date(self.received)}, "
                f"counted from {format_date(self.counted_from)}."
            )
        unit = "school day" if self.school_days == 1 else "school days"
        middle = f"{self.school_days} {unit} later is {format_date(self.deadline)}."
        return f"{opening} {middle} {self._skipped_sentence()}"

    def _skipped_sentence(self) -> str:
        """List what was left out of the count, or say plainly that nothing was."""
        parts: list[str] = []
        if self.bank_holidays_skipped:
            names = ", ".join(
                f"{name} ({format_date(d)})" for d, name in self.bank_holidays_skipped
            )
            label = "bank holiday" if len(self.bank_holidays_skipped) == 1 else "bank holidays"
            parts.append(f"{label}: {names}")
        if self.closures_skipped:
            days = ", ".join(format_date(d) for d in self.closures_skipped)
            plural = "" if len(self.closures_skipped) == 1 else "s"
            parts.append(f"school closure day{plural}: {days}")
        if self.non_term_weekdays_skipped:
            count = self.non_term_weekdays_skipped
            label = "weekday" if count == 1 else "weekdays"
            parts.append(f"{count} {label} in the school holidays")
        if not parts:
            return "No bank holidays, school closures or school holidays fell in that time."
        return "Skipped: " + "; ".join(parts) + "."


class SchoolCalendar:
    """Answers school-day questions for the range covered by a set of terms.

    School days are precomputed once (as sorted ordinals) so that deadline arithmetic is a
    binary search: the complaints queue recomputes deadlines for every open case.
    """

    def __init__(
        self,
        terms: Sequence[Term],
        closures: Iterable[date] = (),
        extra_holidays: Mapping[date, str] = _NO_HOLIDAYS,
        *,
        source: Path | None = None,
        allow_empty: bool = False,
    ) -> None:
        """Validate the terms up front so a bad term dates file fails loudly at load time.

        `allow_empty`: a school that has not given its term dates yet gets a calendar that
        knows no day at all (every deadline question is "not set yet"), never an error page.
        """
        self._source = source
        self._terms = () if allow_empty and not terms else _validated_terms(terms)
        self._closures = _validated_closures(closures, self._terms)
        self._extra_holidays = dict(extra_holidays)
        self._holidays_by_year: dict[int, dict[date, str]] = {}

    @classmethod
    def from_file(cls, path: Path) -> SchoolCalendar:
        """Build a calendar from a TOML term dates file kept by the school office."""
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise TermDatesError(f"{path} is not valid TOML (check the dates): {exc}") from exc
        terms, closures = parse_term_dates(data, path)
        return cls(terms, closures, source=path)

    @property
    def terms(self) -> tuple[Term, ...]:
        """The terms in date order."""
        return self._terms

    @property
    def is_empty(self) -> bool:
        """No term dates at all yet (a new school)."""
        return not self._terms

    @property
    def closures(self) -> frozenset[date]:
        """Closure (INSET etc.) days the calendar skips."""
        return self._closures

    @property
    def first_known_day(self) -> date:
        """The earliest date the calendar can answer questions about."""
        return self._terms[0].start if self._terms else date.max

    @property
    def last_known_day(self) -> date:
        """The latest date the calendar can answer questions about."""
        return self._terms[-1].end if self._terms else date.min

    def covers(self, d: date) -> bool:
        """Whether questions about ``d`` can be answered without more term dates."""
        return self.first_known_day <= d <= self.last_known_day

    def bank_holiday_name(self, d: date) -> str | None:
        """The bank holiday's name on ``d``, or None; injected holidays override the package's."""
        return self._bank_holidays(d.year).get(d)

    def term_for(self, d: date) -> Term | None:
        """The term containing ``d``, or None in the school holidays."""
        for term in self._terms:
            if d in term:
                return term
        return None

    def is_school_day(self, d: date) -> bool:
        """Whether pupils are in school on ``d``: a term-time weekday that is not a bank holiday
        or closure day."""
        self._check_covered(d)
        return d.toordinal() in self._school_day_set

    def next_school_day(self, d: date) -> date:
        """The first school day on or after ``d``.

        A complaint received at a weekend or in the holidays counts as received on this day.
        """
        self._check_covered(d)
        days = self._school_days
        i = bisect_left(days, d.toordinal())
        if i == len(days):
            raise self._exhausted(d)
        return date.fromordinal(days[i])

    def first_school_day_after(self, d: date) -> date:
        """The first school day strictly after ``d``."""
        self._check_covered(d)
        days = self._school_days
        i = bisect_right(days, d.toordinal())
        if i == len(days):
            raise self._exhausted(d)
        return date.fromordinal(days[i])

    def add_school_days(self, start: date, n: int) -> date:
        """The date ``n`` school days after ``start`` (``start`` itself when ``n`` is 0).

        This is the smallest date ``d`` with ``school_days_between(start, d) == n``, so it is
        always a school day when ``n`` > 0, whatever kind of day ``start`` is.
        """
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        self._check_covered(start)
        if n == 0:
            return start
        days = self._school_days
        i = bisect_right(days, start.toordinal()) + n - 1
        if i >= len(days):
            raise self._exhausted(start, n)
        return date.fromordinal(days[i])

    def school_days_between(self, a: date, b: date) -> int:
        """How many school days ``d`` satisfy ``a < d <= b`` (0 when ``b <= a``)."""
        self._check_covered(a)
        self._check_covered(b)
        if b <= a:
            return 0
        days = self._school_days
        return bisect_right(days, b.toordinal()) - bisect_right(days, a.toordinal())

    def explain(self, received: date, school_days: int) -> DeadlineExplanation:
        """Work out a deadline and record everything that was skipped, for the case record."""
        counted_from = self.next_school_day(received)
        deadline = self.add_school_days(counted_from, school_days)
        bank_holidays: list[tuple[date, str]] = []
        closures: list[date] = []
        non_term = 0
        d = counted_from + timedelta(days=1)
        while d <= deadline:
            if d.weekday() < 5 and not self.is_school_day(d):
                name = self.bank_holiday_name(d)
                if name is not None:
                    bank_holidays.append((d, name))
                elif d in self._closures:
                    closures.append(d)
                else:
                    non_term += 1
            d += timedelta(days=1)
        return DeadlineExplanation(
            received=received,
            counted_from=counted_from,
            school_days=school_days,
            deadline=deadline,
            bank_holidays_skipped=bank_holidays,
            closures_skipped=closures,
            non_term_weekdays_skipped=non_term,
        )

    @cached_property
    def _school_days(self) -> list[int]:
        """Every school day in the covered range as a sorted list of ordinals, for bisect."""
        result: list[int] = []
        for term in self._terms:
            for ordinal in range(term.start.toordinal(), term.end.toordinal() + 1):
                d = date.fromordinal(ordinal)
                if (
                    d.weekday() < 5
                    and d not in self._closures
                    and self.bank_holiday_name(d) is None
                ):
                    result.append(ordinal)
        return result

    @cached_property
    def _school_day_set(self) -> frozenset[int]:
        """Constant-time membership for ``is_school_day``."""
        return frozenset(self._school_days)

    def _bank_holidays(self, year: int) -> dict[date, str]:
        """England and Wales bank holidays for one year, fetched on first use and kept."""
        cached = self._holidays_by_year.get(year)
        if cached is None:
            cached = dict(holidays.country_holidays("GB", subdiv="ENG", years=year).items())
            cached.update((d, name) for d, name in self._extra_holidays.items() if d.year == year)
            self._holidays_by_year[year] = cached
        return cached

    def _check_covered(self, d: date) -> None:
        """Refuse dates outside the known terms rather than guess what the school does then."""
        if not self._terms:
            raise CalendarExhaustedError(
                f"No term dates have been added yet, so {format_date(d)} cannot be checked. "
                f"An administrator needs to add them to {self._source_name()}."
            )
        if d > self.last_known_day:
            raise self._exhausted(d)
        if d < self.first_known_day:
            raise CalendarExhaustedError(
                f"No term dates are known before {format_date(self.first_known_day)}, "
                f"so {format_date(d)} cannot be checked. An administrator needs to add the "
                f"earlier term dates to {self._source_name()}."
            )

    def _exhausted(self, d: date, n: int | None = None) -> CalendarExhaustedError:
        """Build the error telling an administrator to add the next term dates."""
        asked = f"{format_date(d)}" if n is None else f"{n} school days after {format_date(d)}"
        return CalendarExhaustedError(
            f"The term dates run out: the last known term ends {format_date(self.last_known_day)}"
            f", so {asked} cannot be worked out. An administrator needs to add the next term "
            f"dates to {self._source_name()}."
        )

    def _source_name(self) -> str:
        """Where the administrator should add term dates."""
        return str(self._source) if self._source is not None else "the portal's term dates page"


def load_calendar(path: Path) -> SchoolCalendar:
    """Load the term dates file, reusing the parsed calendar until the file changes.

    Keyed on modification time (and size) so the office can edit term dates without a restart.
    """
    resolved = path.resolve()
    stat = resolved.stat()
    return _load_calendar_cached(resolved, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load_calendar_cached(path: Path, mtime_ns: int, size: int) -> SchoolCalendar:
    """Parse once per file version; the mtime/size arguments exist only to key the cache."""
    return SchoolCalendar.from_file(path)


def _describe(term: Term) -> str:
    """Name a term in error messages with its dates, since names can repeat across years."""
    return f'"{term.name}" ({term.start.isoformat()} to {term.end.isoformat()})'


def _validated_terms(terms: Sequence[Term]) -> tuple[Term, ...]:
    """Sort terms and reject ones that run backwards or overlap."""
    if not terms:
        raise TermDatesError("No terms given: at least one term is needed.")
    for term in terms:
        for label, value in (("start", term.start), ("end", term.end)):
            if not isinstance(value, date) or isinstance(value, datetime):
                raise TermDatesError(f'Term "{term.name}": {label} must be a date, got {value!r}.')
        if term.end < term.start:
            raise TermDatesError(
                f"Term {_describe(term)} ends before it starts: check its start and end."
            )
    ordered = tuple(sorted(terms, key=lambda t: (t.start, t.end)))
    for earlier, later in pairwise(ordered):
        if later.start <= earlier.end:
            raise TermDatesError(f"Terms {_describe(earlier)} and {_describe(later)} overlap.")
    return ordered


def _validated_closures(closures: Iterable[date], terms: Sequence[Term]) -> frozenset[date]:
    """Reject closures outside every term: those are almost always a typo in the year."""
    result: set[date] = set()
    for d in closures:
        if not isinstance(d, date) or isinstance(d, datetime):
            raise TermDatesError(f"Closure {d!r} is not a date.")
        if not any(d in term for term in terms):
            raise TermDatesError(f"Closure {d.isoformat()} is not inside any term: check the date.")
        result.add(d)
    return frozenset(result)


def parse_term_dates(data: Mapping[str, Any], path: Path) -> tuple[list[Term], list[date]]:
    """Turn the TOML document into terms and closures, naming the entry at fault on error."""
    unknown = set(data) - _TOP_LEVEL_KEYS
    if unknown:
        raise TermDatesError(
            f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}; "
            f"expected [[terms]] entries and an optional closures list."
        )
    raw_terms = data.get("terms")
    if not isinstance(raw_terms, list) or not raw_terms:
        raise TermDatesError(f"{path}: no [[terms]] entries found.")
    terms = [_parse_term(raw, index, path) for index, raw in enumerate(raw_terms, start=1)]
    raw_closures = data.get("closures", [])
    if not isinstance(raw_closures, list):
        raise TermDatesError(f"{path}: closures must be a list of dates.")
    for value in raw_closures:
        if not _is_plain_date(value):
            raise TermDatesError(
                f"{path}: closure {value!r} must be an unquoted date like 2026-09-03."
            )
    return terms, raw_closures


def _parse_term(raw: object, index: int, path: Path) -> Term:
    """Check one [[terms]] table, naming it (or its position) in any error."""
    if not isinstance(raw, dict):
        raise TermDatesError(f"{path}: term number {index} is not a table.")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise TermDatesError(f"{path}: term number {index} needs a name.")
    unknown = set(raw) - _TERM_KEYS
    if unknown:
        raise TermDatesError(
            f'{path}: term "{name}" has unknown key(s) {", ".join(sorted(unknown))}; '
            f"expected name, start and end."
        )
    values: dict[str, date] = {}
    for key in ("start", "end"):
        value = raw.get(key)
        if not _is_plain_date(value):
            found = "nothing" if value is None else repr(value)
            raise TermDatesError(
                f'{path}: term "{name}" {key} must be an unquoted date like 2026-09-03, '
                f"found {found}."
            )
        values[key] = value
    return Term(name=name, start=values["start"], end=values["end"])


def _is_plain_date(value: object) -> bool:
    """TOML dates arrive as ``date``; reject datetimes (a subclass) and quoted strings."""
    return isinstance(value, date) and not isinstance(value, datetime)
