"""Tests for school-day arithmetic used by complaint deadlines."""

from __future__ import annotations

import os
import tomllib
from datetime import date, timedelta
from pathlib import Path

import holidays
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from portal.calendar import (
    CalendarExhaustedError,
    SchoolCalendar,
    Term,
    TermDatesError,
    format_date,
    load_calendar,
)
from tests.clocks import TERM_DATES

CALENDAR = SchoolCalendar.from_file(TERM_DATES)

with TERM_DATES.open("rb") as _fh:
    _RAW = tomllib.load(_fh)
_ORACLE_TERMS = [(t["start"], t["end"]) for t in _RAW["terms"]]
_ORACLE_CLOSURES = set(_RAW.get("closures", []))
_ORACLE_BANK_HOLIDAYS = holidays.country_holidays("GB", subdiv="ENG", years=range(2026, 2029))

FIRST = min(start for start, _ in _ORACLE_TERMS)
LAST = max(end for _, end in _ORACLE_TERMS)

dates = st.dates(min_value=FIRST, max_value=LAST)
counts = st.integers(min_value=0, max_value=40)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


def oracle_is_school_day(d: date) -> bool:
    """Independent definition straight from the TOML and the holidays package."""
    return (
        d.weekday() < 5
        and any(start <= d <= end for start, end in _ORACLE_TERMS)
        and d not in _ORACLE_BANK_HOLIDAYS
        and d not in _ORACLE_CLOSURES
    )


def brute_force_between(a: date, b: date) -> int:
    count = 0
    d = a + timedelta(days=1)
    while d <= b:
        count += oracle_is_school_day(d)
        d += timedelta(days=1)
    return count


def add_or_reject(a: date, n: int) -> date:
    try:
        return CALENDAR.add_school_days(a, n)
    except CalendarExhaustedError:
        reject()


def write_terms(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "term-dates.toml"
    path.write_text(text, encoding="utf-8")
    return path


# Concrete examples from the demo calendar


def test_format_date_has_no_leading_zero_and_ignores_locale() -> None:
    assert format_date(date(2026, 12, 7)) == "Monday 7 December 2026"
    assert format_date(date(2027, 1, 1)) == "Friday 1 January 2027"


def test_demo_file_covers_two_school_years() -> None:
    assert CALENDAR.first_known_day == date(2026, 9, 1)
    assert CALENDAR.last_known_day == date(2028, 7, 21)
    assert len(CALENDAR.terms) == 12


def test_school_days_match_independent_definition_for_whole_calendar() -> None:
    d = FIRST
    while d <= LAST:
        assert CALENDAR.is_school_day(d) == oracle_is_school_day(d), d
        d += timedelta(days=1)


def test_each_school_year_has_190_pupil_days() -> None:
    assert CALENDAR.school_days_between(date(2026, 9, 1), date(2027, 7, 23)) == 190
    assert CALENDAR.school_days_between(date(2027, 8, 31), date(2028, 7, 21)) == 190


def test_saturday_complaint_counts_from_monday() -> None:
    assert CALENDAR.next_school_day(date(2026, 11, 21)) == date(2026, 11, 23)
    explanation = CALENDAR.explain(date(2026, 11, 21), 10)
    assert explanation.counted_from == date(2026, 11, 23)
    assert explanation.deadline == date(2026, 12, 7)


def test_school_day_complaint_counts_from_same_day() -> None:
    assert CALENDAR.next_school_day(date(2026, 11, 25)) == date(2026, 11, 25)
    assert CALENDAR.first_school_day_after(date(2026, 11, 25)) == date(2026, 11, 26)
    assert CALENDAR.first_school_day_after(date(2026, 11, 27)) == date(2026, 11, 30)


def test_half_term_complaint_counts_from_first_day_back() -> None:
    assert CALENDAR.next_school_day(date(2027, 2, 16)) == date(2027, 2, 22)


def test_half_term_complaint_skips_inset_day_on_return() -> None:
    assert not CALENDAR.is_school_day(date(2026, 11, 2))
    assert CALENDAR.next_school_day(date(2026, 10, 28)) == date(2026, 11, 3)


def test_five_school_days_across_half_term() -> None:
    assert CALENDAR.add_school_days(date(2027, 2, 11), 5) == date(2027, 2, 25)
    explanation = CALENDAR.explain(date(2027, 2, 11), 5)
    assert explanation.non_term_weekdays_skipped == 5
    assert explanation.bank_holidays_skipped == []
    assert explanation.closures_skipped == []


def test_five_school_days_across_half_term_and_inset_day() -> None:
    assert CALENDAR.add_school_days(date(2026, 10, 21), 5) == date(2026, 11, 5)


def test_christmas_boxing_day_and_new_year_are_skipped() -> None:
    explanation = CALENDAR.explain(date(2026, 12, 16), 10)
    assert explanation.deadline == date(2027, 1, 14)
    assert explanation.bank_holidays_skipped == [
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 28), "Boxing Day (observed)"),
        (date(2027, 1, 1), "New Year's Day"),
    ]
    assert explanation.closures_skipped == [date(2027, 1, 4)]


def test_christmas_bank_holidays_skipped_even_inside_a_term() -> None:
    calendar = SchoolCalendar(
        [
            Term("Winter 2026", date(2026, 12, 21), date(2027, 1, 8)),
            Term("Winter 2027", date(2027, 12, 20), date(2028, 1, 7)),
        ]
    )
    for d in (date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)):
        assert not calendar.is_school_day(d)
    assert calendar.add_school_days(date(2026, 12, 24), 1) == date(2026, 12, 29)
    assert not calendar.is_school_day(date(2027, 12, 27))
    assert not calendar.is_school_day(date(2027, 12, 28))
    assert calendar.add_school_days(date(2027, 12, 24), 1) == date(2027, 12, 29)


def test_easter_2027_good_friday_and_easter_monday_skipped() -> None:
    assert not CALENDAR.is_school_day(date(2027, 3, 26))
    assert not CALENDAR.is_school_day(date(2027, 3, 29))
    explanation = CALENDAR.explain(date(2027, 3, 24), 10)
    assert explanation.deadline == date(2027, 4, 23)
    assert explanation.bank_holidays_skipped == [
        (date(2027, 3, 26), "Good Friday"),
        (date(2027, 3, 29), "Easter Monday"),
    ]
    assert explanation.non_term_weekdays_skipped == 10


def test_early_may_bank_holiday_and_polling_day_closure_skipped() -> None:
    assert CALENDAR.add_school_days(date(2027, 4, 28), 5) == date(2027, 5, 7)
    explanation = CALENDAR.explain(date(2027, 4, 28), 5)
    assert explanation.bank_holidays_skipped == [(date(2027, 5, 3), "May Day")]
    assert explanation.closures_skipped == [date(2027, 5, 6)]
    assert explanation.non_term_weekdays_skipped == 0


def test_closures_are_skipped() -> None:
    calendar = SchoolCalendar(
        [Term("Autumn", date(2026, 11, 2), date(2026, 11, 13))],
        closures=[date(2026, 11, 4), date(2026, 11, 5)],
    )
    assert calendar.add_school_days(date(2026, 11, 3), 1) == date(2026, 11, 6)
    assert calendar.school_days_between(date(2026, 11, 2), date(2026, 11, 6)) == 2
    assert calendar.explain(date(2026, 11, 3), 1).closures_skipped == [
        date(2026, 11, 4),
        date(2026, 11, 5),
    ]


def test_add_zero_school_days_returns_start_even_on_a_non_school_day() -> None:
    assert CALENDAR.add_school_days(date(2026, 11, 21), 0) == date(2026, 11, 21)
    assert CALENDAR.add_school_days(date(2026, 11, 21), 1) == date(2026, 11, 23)


def test_negative_school_days_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        CALENDAR.add_school_days(date(2026, 11, 25), -1)


def test_summary_in_plain_english() -> None:
    assert CALENDAR.explain(date(2026, 11, 21), 10).summary() == (
        "Received Saturday 21 November 2026, counted from Monday 23 November 2026. "
        "10 school days later is Monday 7 December 2026. "
        "No bank holidays, school closures or school holidays fell in that time."
    )
    assert CALENDAR.explain(date(2027, 4, 28), 5).summary() == (
        "Received and counted from Wednesday 28 April 2027. "
        "5 school days later is Friday 7 May 2027. "
        "Skipped: bank holiday: May Day (Monday 3 May 2027); "
        "school closure day: Thursday 6 May 2027."
    )
    assert "5 weekdays in the school holidays" in CALENDAR.explain(date(2027, 2, 11), 5).summary()


def test_extra_holiday_moves_deadline_later() -> None:
    before = CALENDAR.explain(date(2026, 11, 21), 10)
    changed = SchoolCalendar(
        CALENDAR.terms,
        CALENDAR.closures,
        extra_holidays={date(2026, 12, 1): "Royal celebration bank holiday"},
    )
    after = changed.explain(date(2026, 11, 21), 10)
    assert before.deadline == date(2026, 12, 7)
    assert after.deadline == date(2026, 12, 8)
    assert after.bank_holidays_skipped == [(date(2026, 12, 1), "Royal celebration bank holiday")]
    assert "Royal celebration bank holiday (Tuesday 1 December 2026)" in after.summary()


# Running out of term dates


def test_asking_beyond_last_term_raises() -> None:
    with pytest.raises(CalendarExhaustedError, match="add the next term dates"):
        CALENDAR.add_school_days(date(2028, 7, 17), 10)
    with pytest.raises(CalendarExhaustedError, match="21 July 2028"):
        CALENDAR.next_school_day(date(2028, 7, 22))
    with pytest.raises(CalendarExhaustedError):
        CALENDAR.is_school_day(date(2028, 9, 4))
    with pytest.raises(CalendarExhaustedError):
        CALENDAR.school_days_between(date(2028, 7, 1), date(2028, 9, 30))
    with pytest.raises(CalendarExhaustedError):
        CALENDAR.explain(date(2028, 7, 20), 5)
    assert CALENDAR.add_school_days(date(2028, 7, 14), 5) == date(2028, 7, 21)


def test_last_term_ending_on_closure_raises_rather_than_looping() -> None:
    calendar = SchoolCalendar(
        [Term("Short", date(2026, 11, 2), date(2026, 11, 6))],
        closures=[date(2026, 11, 6)],
    )
    with pytest.raises(CalendarExhaustedError):
        calendar.next_school_day(date(2026, 11, 6))
    with pytest.raises(CalendarExhaustedError):
        calendar.first_school_day_after(date(2026, 11, 5))


def test_asking_before_first_term_raises() -> None:
    with pytest.raises(CalendarExhaustedError, match="earlier term dates"):
        CALENDAR.next_school_day(date(2026, 8, 20))


# Term dates file validation and loading


VALID_FILE = """
closures = [2026-11-02]

[[terms]]
name = "Autumn term 1"
start = 2026-09-03
end = 2026-10-23

[[terms]]
name = "Autumn term 2"
start = 2026-11-02
end = 2026-12-18
"""


def test_valid_file_loads(tmp_path: Path) -> None:
    calendar = SchoolCalendar.from_file(write_terms(tmp_path, VALID_FILE))
    assert [t.name for t in calendar.terms] == ["Autumn term 1", "Autumn term 2"]
    assert calendar.closures == {date(2026, 11, 2)}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[terms]]\nname = "Autumn term 1"\nstart = 2026-10-23\nend = 2026-09-03\n',
            "Autumn term 1.*ends before it starts",
        ),
        (
            '[[terms]]\nname = "Autumn term 1"\nstart = 2026-09-03\nend = 2026-10-23\n'
            '[[terms]]\nname = "Autumn term 2"\nstart = 2026-10-20\nend = 2026-12-18\n',
            "Autumn term 1.*Autumn term 2.*overlap",
        ),
        (
            '[[terms]]\nname = "Spring term 1"\nstart = 2027-01-04\nend = 2027-02-30\n',
            "not valid TOML",
        ),
        (
            '[[terms]]\nname = "Spring term 1"\nstart = "4 January 2027"\nend = 2027-02-12\n',
            "Spring term 1.*start must be an unquoted date",
        ),
        (
            '[[terms]]\nname = "Spring term 1"\nstart = 2027-01-04\n',
            "Spring term 1.*end must be an unquoted date.*found nothing",
        ),
        (
            '[[terms]]\nname = "Spring term 1"\nstart = 2027-01-04\nfinish = 2027-02-12\n',
            "Spring term 1.*unknown key.*finish",
        ),
        (
            'closures = [2027-03-01]\n[[terms]]\nname = "Spring term 1"\n'
            "start = 2027-01-04\nend = 2027-02-12\n",
            "Closure 2027-03-01 is not inside any term",
        ),
        ("closures = [2027-01-05]\n", "no \\[\\[terms\\]\\] entries"),
    ],
)
def test_invalid_term_file_raises(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(TermDatesError, match=message):
        SchoolCalendar.from_file(write_terms(tmp_path, text))


def test_term_dates_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Bad term"):
        SchoolCalendar([Term("Bad term", date(2026, 9, 10), date(2026, 9, 1))])


def test_load_calendar_is_cached_until_file_changes(tmp_path: Path) -> None:
    path = write_terms(tmp_path, VALID_FILE)
    first = load_calendar(path)
    assert load_calendar(path) is first
    path.write_text(VALID_FILE.replace("end = 2026-12-18", "end = 2026-12-17"), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = load_calendar(path)
    assert second is not first
    assert second.last_known_day == date(2026, 12, 17)


# Properties over the demo calendar


@PROPERTY_SETTINGS
@given(dates, counts)
def test_between_inverts_add(a: date, n: int) -> None:
    assert CALENDAR.school_days_between(a, add_or_reject(a, n)) == n


@PROPERTY_SETTINGS
@given(dates, st.integers(min_value=1, max_value=40))
def test_add_lands_on_a_school_day(a: date, n: int) -> None:
    result = add_or_reject(a, n)
    assert result > a
    assert CALENDAR.is_school_day(result)


@PROPERTY_SETTINGS
@given(dates, counts)
def test_add_is_the_smallest_date_with_that_count(a: date, n: int) -> None:
    result = add_or_reject(a, n)
    if n > 0:
        assert CALENDAR.school_days_between(a, result - timedelta(days=1)) == n - 1


@PROPERTY_SETTINGS
@given(dates, counts)
def test_add_is_strictly_monotonic_in_n(a: date, n: int) -> None:
    assert add_or_reject(a, n) < add_or_reject(a, n + 1)


@PROPERTY_SETTINGS
@given(dates, counts, counts)
def test_add_is_additive(a: date, m: int, n: int) -> None:
    assert add_or_reject(add_or_reject(a, m), n) == add_or_reject(a, m + n)


@PROPERTY_SETTINGS
@given(dates, dates, dates)
def test_between_is_additive(x: date, y: date, z: date) -> None:
    a, b, c = sorted((x, y, z))
    between = CALENDAR.school_days_between
    assert between(a, c) == between(a, b) + between(b, c)


@PROPERTY_SETTINGS
@given(dates, dates)
def test_between_is_zero_when_not_forward(x: date, y: date) -> None:
    assert CALENDAR.school_days_between(max(x, y), min(x, y)) == 0


@PROPERTY_SETTINGS
@given(dates)
def test_next_school_day_is_the_first_on_or_after(d: date) -> None:
    try:
        result = CALENDAR.next_school_day(d)
    except CalendarExhaustedError:
        reject()
    assert result >= d
    assert CALENDAR.is_school_day(result)
    day = d
    while day < result:
        assert not oracle_is_school_day(day)
        day += timedelta(days=1)


@PROPERTY_SETTINGS
@given(dates)
def test_first_school_day_after_is_strictly_later(d: date) -> None:
    try:
        result = CALENDAR.first_school_day_after(d)
    except CalendarExhaustedError:
        reject()
    assert result == CALENDAR.add_school_days(d, 1)
    assert result > d


@PROPERTY_SETTINGS
@given(dates, dates)
def test_between_matches_brute_force(a: date, b: date) -> None:
    assert CALENDAR.school_days_between(a, b) == brute_force_between(a, b)


@PROPERTY_SETTINGS
@given(dates, counts)
def test_explain_accounts_for_every_weekday(received: date, n: int) -> None:
    try:
        explanation = CALENDAR.explain(received, n)
    except CalendarExhaustedError:
        reject()
    start, end = explanation.counted_from, explanation.deadline
    weekdays = sum(
        (start + timedelta(days=i)).weekday() < 5 for i in range(1, (end - start).days + 1)
    )
    skipped = (
        len(explanation.bank_holidays_skipped)
        + len(explanation.closures_skipped)
        + explanation.non_term_weekdays_skipped
    )
    assert weekdays == n + skipped
