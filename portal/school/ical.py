"""Reading the iCalendar (.ics) term dates file a council or academy trust publishes.

Councils' files differ, so the reading is by what each event is called (its SUMMARY), from
files published in the wild (see docs/decisions.md, "Importing term dates from iCalendar"):

- all-day events only (DTSTART;VALUE=DATE); DTEND is the day after the last (RFC 5545), and a
  missing DTEND, or one on or before DTSTART, means the one day; timed events (parents' evenings,
  trips) and cancelled ones are left out;
- "Bank Holiday", "May Day", "Good Friday", ... are left out: the calendar knows bank holidays;
- "Half Term", "... Holiday(s)", "... Break" are holidays: they split a term around them
  ("Autumn Term" with "Half Term" inside becomes "Autumn Term 1" and "Autumn Term 2");
- "INSET Day", "Training Day", "Staff Development", "Occasional Day", "School Closed", "Polling
  Day" are closure days (each weekday of the event), when they fall inside a term;
- an event of two days or more named "... Term" is a term; where a file marks terms by single
  days instead ("Autumn Term Starts" ... "Autumn Term Ends"), each start is paired with the next
  end;
- a term containing other terms (a whole term given as well as its half-terms) is left out.

What is left out is said in the preview's notes, so the admin sees what was not used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from icalendar import Calendar

from portal.calendar import SchoolCalendar, Term, TermDatesError, format_date
from portal.school.term_dates import REASON_LIMIT, TERM_NAME_LIMIT, ImportPlan
from portal.text import clean_text

MAX_BYTES = 1_000_000
NOTES_SHOWN = 12

_BANK_HOLIDAY = re.compile(
    r"bank\s+holiday|\bmay\s+day\b|good\s+friday|easter\s+monday|christmas\s+day|boxing\s+day"
    r"|new\s+year'?s\s+day|\bjubilee\b|\bcoronation\b",
    re.IGNORECASE,
)
_HOLIDAY = re.compile(r"half[\s-]*term|\bholidays?\b|\bbreak\b|\bvacation\b", re.IGNORECASE)
_CLOSURE = re.compile(
    r"\binset\b|\btraining\b|staff\s+development|professional\s+development|\bclosure\b"
    r"|\bschool\s+closed\b|\bclosed\s+to\s+pupils\b|occasional\s+day|\bpolling\b",
    re.IGNORECASE,
)
_TERM = re.compile(r"\bterm\b", re.IGNORECASE)
_START = re.compile(r"\b(starts?|begins?|opens?|first\s+day|returns?)\b", re.IGNORECASE)
_END = re.compile(r"\b(ends?|finish(es)?|last\s+day|breaks\s+up)\b", re.IGNORECASE)


class IcalError(ValueError):
    """The file cannot be used; the message says why, for the admin who chose it."""


@dataclass(frozen=True)
class _Event:
    summary: str
    first: date
    last: date  # inclusive

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def read_ics(content: bytes, filename: str = "") -> ImportPlan:
    """The terms and closure days in an .ics file, or IcalError saying why there are none."""
    if len(content) > MAX_BYTES:
        raise IcalError("The file must be smaller than 1 MB: choose the term dates file itself")
    text = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text[:15].upper().startswith(b"BEGIN:VCALENDAR"):
        raise IcalError(
            "The file must be an iCalendar file (.ics), like the term dates file a council "
            "publishes"
        )
    try:
        calendars = Calendar.from_ical(text, multiple=True)
    except (ValueError, IndexError, KeyError, TypeError) as error:
        raise IcalError(
            "The file could not be read as an iCalendar file: it may be damaged. "
            "Download it again and choose it"
        ) from error
    events, notes = _events(calendars)
    plan = plan_from_events(events, notes)
    return plan


def _events(calendars: Iterable[Calendar]) -> tuple[list[_Event], list[str]]:
    events: list[_Event] = []
    timed = broken = 0
    for calendar in calendars:
        for component in calendar.walk("VEVENT"):
            summary = " ".join(clean_text(str(component.get("SUMMARY", ""))).split())
            status = str(component.get("STATUS", "")).upper()
            if status == "CANCELLED":
                continue
            start_property = component.get("DTSTART")
            if start_property is None:
                continue
            start = getattr(start_property, "dt", None)
            if not isinstance(start, date):
                broken += 1
                continue
            if isinstance(start, datetime):
                timed += 1
                continue
            end = _end_of(component, start)
            if not (date(2000, 1, 1) <= start <= date(2100, 12, 31)):
                continue
            events.append(_Event(summary=summary, first=start, last=end))
    notes = []
    if broken:
        notes.append(f"{_count(broken, 'event')} with dates we could not read.")
    if timed:
        notes.append(f"{_count(timed, 'event')} at a time of day, not all day.")
    return events, notes


def _end_of(component: object, start: date) -> date:
    """The last day of an all-day event (DTEND is exclusive; missing means one day)."""
    end_property = component.get("DTEND")  # type: ignore[attr-defined]
    end = getattr(end_property, "dt", None)
    if isinstance(end, date) and not isinstance(end, datetime):
        last = end - timedelta(days=1)
    else:
        duration = getattr(component.get("DURATION"), "dt", None)  # type: ignore[attr-defined]
        last = start + duration - timedelta(days=1) if isinstance(duration, timedelta) else start
    last = min(last, start + timedelta(days=366))
    return last if last >= start else start


def plan_from_events(events: list[_Event], notes: list[str] | None = None) -> ImportPlan:
    notes = list(notes or ())
    spans: list[_Event] = []
    starts: list[_Event] = []
    ends: list[_Event] = []
    holidays: list[_Event] = []
    closures: list[_Event] = []
    unused: dict[str, int] = {}
    bank = 0
    for event in sorted(events, key=lambda e: (e.first, e.last)):
        name = event.summary
        if _BANK_HOLIDAY.search(name):
            bank += 1
        elif _HOLIDAY.search(name):
            holidays.append(event)
        elif _CLOSURE.search(name):
            closures.append(event)
        elif _TERM.search(name) and event.days >= 2:
            spans.append(event)
        elif _TERM.search(name) and _START.search(name):
            starts.append(event)
        elif _TERM.search(name) and _END.search(name):
            ends.append(event)
        else:
            unused[name or "(no name)"] = unused.get(name or "(no name)", 0) + 1
    spans.extend(_paired(starts, ends, notes))
    spans = _innermost(spans, notes)
    terms = _split(spans, holidays)
    if not terms:
        raise IcalError(
            "The file has no terms we could use: we look for whole-day events named like "
            '"Autumn Term", or "Autumn Term Starts" and "Autumn Term Ends"'
        )
    chosen = _closures(closures, terms, notes)
    if bank:
        notes.append(f"{_count(bank, 'bank holiday')}: the portal knows the bank holidays already.")
    if unused:
        names = sorted(unused)
        shown = ", ".join(f'"{name}"' for name in names[:NOTES_SHOWN])
        more = f" and {len(names) - NOTES_SHOWN} more" if len(names) > NOTES_SHOWN else ""
        notes.append(f"Events that are not term dates: {shown}{more}.")
    try:
        SchoolCalendar(terms, [day for day, _ in chosen])
    except TermDatesError as error:
        raise IcalError(f"The dates in the file do not fit together: {error}") from error
    return ImportPlan(terms=tuple(terms), closures=tuple(chosen), notes=tuple(notes))


def _paired(starts: list[_Event], ends: list[_Event], notes: list[str]) -> list[_Event]:
    """Terms marked by a start day and an end day: each start with the next end after it."""
    paired: list[_Event] = []
    ends = sorted(ends, key=lambda e: e.first)
    starts = sorted(starts, key=lambda e: e.first)
    for index, start in enumerate(starts):
        following = starts[index + 1].first if index + 1 < len(starts) else date.max
        end = next((e for e in ends if start.first <= e.first < following), None)
        if end is None:
            notes.append(
                f'"{start.summary}" on {format_date(start.first)}: no end of term after it.'
            )
            continue
        name = _START.sub("", start.summary)
        paired.append(_Event(summary=" ".join(name.split()), first=start.first, last=end.last))
    return paired


def _innermost(spans: list[_Event], notes: list[str]) -> list[_Event]:
    """A whole term given as well as its half-terms: keep the half-terms."""
    kept = []
    for span in spans:
        inner = [
            other
            for other in spans
            if other is not span
            and span.first <= other.first
            and other.last <= span.last
            and (other.first, other.last) != (span.first, span.last)
        ]
        if inner:
            notes.append(f'"{span.summary}" as a whole: its parts are in the file too.')
            continue
        if any((other.first, other.last) == (span.first, span.last) for other in kept):
            continue  # the same term twice
        kept.append(span)
    return kept


def _split(spans: list[_Event], holidays: list[_Event]) -> list[Term]:
    """Each term, less the holidays inside it, as one or more blocks of weekdays."""
    terms: list[Term] = []
    for span in sorted(spans, key=lambda e: e.first):
        pieces: list[tuple[date, date]] = [(span.first, span.last)]
        for holiday in holidays:
            next_pieces = []
            for first, last in pieces:
                if holiday.last < first or holiday.first > last:
                    next_pieces.append((first, last))
                    continue
                if holiday.first > first:
                    next_pieces.append((first, holiday.first - timedelta(days=1)))
                if holiday.last < last:
                    next_pieces.append((holiday.last + timedelta(days=1), last))
            pieces = next_pieces
        pieces = [piece for piece in (_weekdays(*piece) for piece in pieces) if piece]
        name = _name(span.summary)
        for number, (first, last) in enumerate(pieces, start=1):
            label = f"{name} {number}" if len(pieces) > 1 else name
            terms.append(Term(name=label[:TERM_NAME_LIMIT], start=first, end=last))
    return terms


def _weekdays(first: date, last: date) -> tuple[date, date] | None:
    """The block without the weekend days at either end (a holiday ends on a Friday, say)."""
    while first <= last and first.weekday() >= 5:
        first += timedelta(days=1)
    while last >= first and last.weekday() >= 5:
        last -= timedelta(days=1)
    return (first, last) if first <= last else None


def _name(summary: str) -> str:
    name = " ".join(summary.split())[: TERM_NAME_LIMIT - 3].strip()
    return name or "Term"


def _closures(events: list[_Event], terms: list[Term], notes: list[str]) -> list[tuple[date, str]]:
    found: dict[date, str] = {}
    outside: list[date] = []
    for event in events:
        day = event.first
        while day <= event.last:
            if day.weekday() < 5:
                if any(day in term for term in terms):
                    found.setdefault(day, (event.summary or "Closed")[:REASON_LIMIT])
                else:
                    outside.append(day)
            day += timedelta(days=1)
    if outside:
        shown = ", ".join(format_date(day) for day in sorted(set(outside))[:NOTES_SHOWN])
        notes.append(f"Closure days outside every term (they are not school days anyway): {shown}.")
    return sorted(found.items())


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}" if number == 1 else f"{number} {thing}s"
