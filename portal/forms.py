"""Reading what people type into forms: the pieces every domain's forms share.

A form reader returns values and field errors (field id -> message) for the layout's error
summary; it never raises for bad input and never loses what was typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DATE_PARTS = ("day", "month", "year")


@dataclass(frozen=True)
class DateAnswer:
    """What a GOV.UK date input gave: the date (None when empty or wrong), which of its three
    boxes to mark as wrong, and the message that says what to do."""

    value: date | None
    wrong_parts: tuple[str, ...] = ()
    problem: str = ""

    @property
    def is_empty(self) -> bool:
        return self.value is None and not self.problem


def read_date(day: str, month: str, year: str, *, example: str = "20 11 2026") -> DateAnswer:
    """The one date reader: day, month and year boxes as typed (spaces forgiven)."""
    parts = {"day": day.strip(), "month": month.strip(), "year": year.strip()}
    if not any(parts.values()):
        return DateAnswer(None)
    missing = tuple(name for name in DATE_PARTS if not parts[name])
    if missing:
        return DateAnswer(None, missing, "The date must include a " + " and a ".join(missing))
    not_numbers = tuple(name for name in DATE_PARTS if not parts[name].isdigit())
    if not_numbers:
        return DateAnswer(None, not_numbers, f"Enter a real date, using numbers, like {example}")
    if len(parts["year"]) != 4:
        return DateAnswer(None, ("year",), "The year must have 4 numbers, like 2026")
    try:
        found = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except (ValueError, OverflowError):  # OverflowError: a day like 99999999999999999999
        return DateAnswer(None, DATE_PARTS, f"Enter a real date, like {example}")
    if found.year < 1900:
        return DateAnswer(None, ("year",), f"Enter a real date, like {example}")
    return DateAnswer(found)
