"""Reading what people type into forms: the pieces every domain's forms share.

A form class (in its domain's `forms.py`) declares its inputs once, as the fields of a frozen
dataclass based on `PostedForm`::

    @dataclass(frozen=True)
    class ContactForm(PostedForm):
        contact_email: Text = ""
        seen: Text = ""

        def validate(self) -> Checked[dict[str, str]]: ...

A route takes it as a dependency, `form: Annotated[ContactForm, Depends()]`: FastAPI reads each
field from the posted form, which `portal.inputs.CleanInputRoute` has already cleaned. The object
keeps every value exactly as typed (`typed()`, to show the form again); its `validate()` gives
`Checked(value, errors)`: the cleaned value for the service, and field errors (field id ->
message) for the layout's error summary. Reading never raises for bad input and never loses
what was typed. This module imports no domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Form

DATE_PARTS = ("day", "month", "year")

Text = Annotated[str, Form()]
"""One input of a form class (text, radios, a select, a hidden field): the value as typed, after
`portal.text.clean_text`; "" when the browser did not send it."""

Ticked = Annotated[list[str] | None, Form()]
"""Checkboxes sharing one name: the values ticked, in order; None when none was."""

T = TypeVar("T")


@dataclass(frozen=True)
class Checked(Generic[T]):
    """What a form class's `validate()` gives. `value` is what the service takes, cleaned; use
    it only when `errors` (field id -> what to do) is empty."""

    value: T
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class PostedForm:
    """The base of every form class: see the module's docstring. Subclasses are frozen
    dataclasses whose fields are `Text` or `Ticked` with a default, named as the inputs are."""

    def typed(self) -> dict[str, Any]:
        """Every input exactly as typed, under its field id: what the form shows again."""
        return {each.name: getattr(self, each.name) for each in fields(self)}


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
