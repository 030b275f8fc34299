"""The forms of the complaints pages (`portal.forms`): the actions on a case page, and the
parent's forms on the tracking page.

They read what only the form can tell (a date from its three boxes, a row id, a choice from a
list) and give it in the shape the services take; the procedure's rules are the services', whose
`ComplaintError` names the field at fault. Field ids are the inputs' ids on the page, since some
forms on the case page share names (`redirect_reason`, `new_date_day`, `message_body`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import TypeVar

from portal.complaints import services
from portal.complaints.models import Outcome, Stage
from portal.forms import Checked, PostedForm, Text, read_date
from portal.inputs import row_id_or_none

E = TypeVar("E", bound=Enum)


def _choice(kind: type[E], value: str) -> E | None:
    return kind(value) if value in kind.__members__ else None


def _date(field_id: str, day: str, month: str, year: str) -> Checked[date | None]:
    """A GOV.UK date input: None when left empty, an error on its day box when not a real date."""
    answer = read_date(day, month, year)
    return Checked(answer.value, {field_id: answer.problem} if answer.problem else {})


# ---------------------------------------------------------------- actions on a case


@dataclass(frozen=True)
class TriageForm(PostedForm):
    stage: Text = ""
    category: Text = ""
    handler_id: Text = ""
    about_user_id: Text = ""
    late_decision: Text = ""
    anonymous_decision: Text = ""
    triage_notes: Text = ""

    def validate(self) -> Checked[services.Triage]:
        return Checked(
            services.Triage(
                stage=_choice(Stage, self.stage),  # type: ignore[arg-type]  # refused by triage
                category=self.category,
                handler_id=row_id_or_none(self.handler_id),
                about_user_id=row_id_or_none(self.about_user_id),
                late_decision=self.late_decision or None,
                anonymous_decision=self.anonymous_decision or None,
                notes=self.triage_notes,
            )
        )


@dataclass(frozen=True)
class RedirectForm(PostedForm):
    procedure: Text = ""
    redirect_reason: Text = ""


@dataclass(frozen=True)
class ClearExclusionForm(PostedForm):
    user_id: Text = ""

    def validate(self) -> Checked[int | None]:
        excluded_id = row_id_or_none(self.user_id)
        errors = {"exclusion": "Choose who to clear"} if excluded_id is None else {}
        return Checked(excluded_id, errors)


@dataclass(frozen=True)
class DelegateForm(PostedForm):
    """Giving the case to a senior leader: who (checked again by the service) and a note."""

    delegate_id: Text = ""
    delegate_note: Text = ""

    def validate(self) -> Checked[int | None]:
        chosen = row_id_or_none(self.delegate_id)
        errors = {"delegate_id": "Choose a senior leader"} if chosen is None else {}
        return Checked(chosen, errors)


@dataclass(frozen=True)
class LinkForm(PostedForm):
    lead_reference: Text = ""


@dataclass(frozen=True)
class LetterForm(PostedForm):
    """A letter to the parent: the stage 1 response and the panel's outcome share it."""

    outcome: Text = ""
    investigated: Text = ""
    decision: Text = ""
    actions: Text = ""

    def validate(self) -> Checked[services.Letter | None]:
        outcome = _choice(Outcome, self.outcome)
        if outcome is None:
            return Checked(None, {"outcome": "Select the outcome"})
        return Checked(
            services.Letter(
                outcome=outcome,
                investigated=self.investigated,
                decision=self.decision,
                actions=self.actions,
            )
        )


@dataclass(frozen=True)
class DeadlineUpdateForm(PostedForm):
    """A new date for the parent's answer, and why."""

    new_date_day: Text = ""
    new_date_month: Text = ""
    new_date_year: Text = ""
    update_reason: Text = ""

    def validate(self) -> Checked[date | None]:
        """The new date (None when left empty: the service asks for one)."""
        return _date("new_date_day", self.new_date_day, self.new_date_month, self.new_date_year)


@dataclass(frozen=True)
class MessageForm(PostedForm):
    message_body: Text = ""


@dataclass(frozen=True)
class NoteForm(PostedForm):
    note: Text = ""


@dataclass(frozen=True)
class Panel:
    hearing_on: date | None
    member_ids: list[int]


@dataclass(frozen=True)
class PanelForm(PostedForm):
    """The stage 2 panel: when it meets, who sits on it (up to three), its papers and notes."""

    hearing_on_day: Text = ""
    hearing_on_month: Text = ""
    hearing_on_year: Text = ""
    member_1: Text = ""
    member_2: Text = ""
    member_3: Text = ""
    papers: Text = ""
    hearing_notes: Text = ""
    hearing_time: Text = ""
    hearing_format: Text = "in_person"
    hearing_place: Text = ""

    def validate(self) -> Checked[Panel]:
        members = [row_id_or_none(m) for m in (self.member_1, self.member_2, self.member_3)]
        hearing_on = _date(
            "hearing_on_day", self.hearing_on_day, self.hearing_on_month, self.hearing_on_year
        )
        return Checked(
            Panel(hearing_on.value, [m for m in members if m is not None]), hearing_on.errors
        )


@dataclass(frozen=True)
class PersistentForm(PostedForm):
    persistent_reason: Text = ""


# ---------------------------------------------------------------- the parent's tracking page


@dataclass(frozen=True)
class FindCaseForm(PostedForm):
    """A case found by its reference and the parent's email address."""

    reference: Text = ""
    email: Text = ""

    def validate(self) -> Checked[None]:
        errors: dict[str, str] = {}
        if not self.reference.strip():
            errors["reference"] = "Enter your reference, like C-7K4P-2QX"
        if not self.email.strip():
            errors["email"] = "Enter your email address"
        return Checked(None, errors)


@dataclass(frozen=True)
class ReplyForm(PostedForm):
    """The parent's reply (its file, if any, is read by the route as an upload)."""

    body: Text = ""


# The parent's long answers on the tracking page have the form's limit; the character count on
# each textarea says it before they send.
PARENT_TEXT_LIMIT = services.REPLY_TEXT_LIMIT


def _within_limit(field_id: str, text: str, what: str) -> dict[str, str]:
    if len(text) > PARENT_TEXT_LIMIT:
        return {field_id: f"{what} must be {PARENT_TEXT_LIMIT:,} characters or fewer"}
    return {}


@dataclass(frozen=True)
class WithdrawForm(PostedForm):
    reason: Text = ""

    def validate(self) -> Checked[str]:
        return Checked(self.reason, _within_limit("reason", self.reason, "Your reason"))


@dataclass(frozen=True)
class CompanionForm(PostedForm):
    """Who the parent will bring to the panel hearing."""

    companion_name: Text = ""


@dataclass(frozen=True)
class EscalateForm(PostedForm):
    reasons: Text = ""

    def validate(self) -> Checked[str]:
        return Checked(self.reasons, _within_limit("reasons", self.reasons, "Your reasons"))
