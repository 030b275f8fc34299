"""The forms of the complaints pages (`portal.forms`): the actions on a case page, and the
parent's forms on the tracking page.

They read what only the form can tell (a date from its three boxes, a row id, a choice from a
list) and give it in the shape the services take; the procedure's rules are the services', whose
`ComplaintError` names the field at fault. Field ids are the inputs' ids on the page, since some
forms on the case page share names (`redirect_reason`, `new_date_day`, `message_body`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import TypeVar

from portal.complaints import services
from portal.complaints.models import About, Outcome, Stage
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
    """The letter to the parent as a draft: the stage 1 response and the panel's outcome share it.

    `intent` is the button pressed: "save", "preview", or "use:<paragraph>" (a suggested
    paragraph added to its part of the letter, after what is typed there).
    """

    outcome: Text = ""
    investigated: Text = ""
    decision: Text = ""
    actions: Text = ""
    draft_version: Text = ""
    intent: Text = ""

    def words(self) -> services.LetterWords:
        return services.LetterWords(
            outcome=self.outcome if self.outcome in Outcome.__members__ else "",
            investigated=self.investigated,
            decision=self.decision,
            actions=self.actions,
        )

    def version(self) -> int | None:
        return row_id_or_none(self.draft_version)

    def paragraph_key(self) -> str | None:
        """The suggested paragraph asked for, when a "Use this" button was pressed."""
        return self.intent.removeprefix("use:") if self.intent.startswith("use:") else None


@dataclass(frozen=True)
class SendLetterForm(PostedForm):
    """Send the previewed letter: the version of the draft the person read."""

    draft_version: Text = ""

    def version(self) -> int | None:
        return row_id_or_none(self.draft_version)


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


@dataclass(frozen=True)
class SchoolPapersForm(PostedForm):
    """The school's papers for the panel (the files are read by the route as uploads)."""

    school_papers_note: Text = ""


@dataclass(frozen=True)
class SendBundleForm(PostedForm):
    bundle_checked: Text = ""

    def validate(self) -> Checked[bool]:
        if self.bundle_checked != "yes":
            return Checked(
                False,
                {"bundle_checked": "Confirm that you have read the bundle before you send it"},
            )
        return Checked(True)


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
class PanelPapersForm(PostedForm):
    """The parent's note with their papers for the panel (the files are read as uploads)."""

    papers_note: Text = ""


@dataclass(frozen=True)
class EscalateForm(PostedForm):
    reasons: Text = ""

    def validate(self) -> Checked[str]:
        return Checked(self.reasons, _within_limit("reasons", self.reasons, "Your reasons"))


# ---------------------------------------------------------------- emails we could not place


@dataclass(frozen=True)
class AttachEmailForm(PostedForm):
    reference: Text = ""


@dataclass(frozen=True)
class SetAsideEmailForm(PostedForm):
    set_aside_reason: Text = ""


# ---------------------------------------------------------------- office logs a complaint

LOGGED_TEXT_LIMIT = 10_000
LOGGED_NAME_LIMIT = 200
LOGGED_EMAIL_LIMIT = 320
LOGGED_PHONE = re.compile(r"^\+?[0-9 ()\-]{6,30}$")
LOGGED_KINDS = ("concern", "complaint")
LOGGED_NAMED_ABOUTS = (About.staff, About.governor)


@dataclass(frozen=True)
class LogComplaintForm(PostedForm):
    """A concern or complaint office takes down for a parent ("Log a complaint"). The scanned
    letter or email, if any, is read by the route as an upload. `form_token` is the form's
    one-time token (the same form sent twice makes one case); `scan_draft` holds a file kept
    from an earlier sending that had something to fix."""

    form_token: Text = ""
    scan_draft: Text = ""
    channel: Text = ""
    received_on_day: Text = ""
    received_on_month: Text = ""
    received_on_year: Text = ""
    parent_name: Text = ""
    parent_email: Text = ""
    parent_phone: Text = ""
    parent_address: Text = ""
    child_name: Text = ""
    kind: Text = ""
    about: Text = ""
    about_name: Text = ""
    category: Text = ""
    what_happened: Text = ""
    happened_on_day: Text = ""
    happened_on_month: Text = ""
    happened_on_year: Text = ""
    done_so_far: Text = ""
    put_right: Text = ""

    def validate(self) -> Checked[services.LoggedComplaint]:
        """What the form alone can tell; the procedure's rules are `services.validate_logged`'s,
        which the route asks too so that every problem shows at once."""
        errors: dict[str, str] = {}
        received_on = _date(
            "received_on_day", self.received_on_day, self.received_on_month, self.received_on_year
        )
        happened_on = _date(
            "happened_on_day", self.happened_on_day, self.happened_on_month, self.happened_on_year
        )
        errors.update(received_on.errors)
        errors.update(happened_on.errors)
        if self.kind not in LOGGED_KINDS:
            errors["kind"] = "Select whether it is a concern or a formal complaint"
        about = _choice(About, self.about)
        if about is None:
            errors["about"] = "Select who the concern or complaint is about"
        for field_id, text, limit, what in (
            ("parent_name", self.parent_name, LOGGED_NAME_LIMIT, "The parent's name"),
            ("parent_email", self.parent_email, LOGGED_EMAIL_LIMIT, "The email address"),
            ("child_name", self.child_name, LOGGED_NAME_LIMIT, "The child's name"),
            ("about_name", self.about_name, LOGGED_NAME_LIMIT, "Their name"),
            ("what_happened", self.what_happened, LOGGED_TEXT_LIMIT, "What happened"),
            ("done_so_far", self.done_so_far, LOGGED_TEXT_LIMIT, "What they have done so far"),
            ("put_right", self.put_right, LOGGED_TEXT_LIMIT, "What would put it right"),
        ):
            if len(text) > limit:
                errors[field_id] = f"{what} must be {limit:,} characters or fewer"
        if self.parent_phone.strip() and not LOGGED_PHONE.match(self.parent_phone.strip()):
            errors["parent_phone"] = (
                "Enter a phone number using numbers only, like 01632 960 001 or 07700 900 982"
            )
        about = about or About.school
        logged = services.LoggedComplaint(
            new=services.NewComplaint(
                formal=self.kind == "complaint",
                about=about,
                about_name=self.about_name.strip() if about in LOGGED_NAMED_ABOUTS else "",
                category=self.category,
                what_happened=self.what_happened.strip(),
                happened_on=happened_on.value,
                done_so_far=self.done_so_far.strip(),
                put_right=self.put_right.strip(),
                anonymous=False,
                parent_name=self.parent_name.strip(),
                parent_email=self.parent_email.strip(),
                parent_phone=self.parent_phone.strip(),
                child_name=self.child_name.strip(),
            ),
            channel=self.channel,
            stated_on=received_on.value,
            parent_address=self.parent_address.strip(),
        )
        return Checked(logged, errors)
