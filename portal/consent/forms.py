"""The forms of the pupil register pages (`portal.forms`)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import UploadFile

from portal.consent.models import AnswerHow, FlagKind, Purpose
from portal.consent.services.answers import NEEDS_NOTE, Answer
from portal.consent.services.evidence import MAX_CALL_NOTE
from portal.consent.services.flags import MAX_REASON
from portal.consent.services.online import OnlineAnswer
from portal.consent.services.photo_check import MAX_PUPILS
from portal.consent.services.register import mapping_problems
from portal.consent.services.settings import read_days, read_purpose
from portal.forms import Checked, PostedForm, Text, Ticked
from portal.inputs import row_id_or_none
from portal.mail import InvalidAddress, normalised_address


@dataclass(frozen=True)
class ImportForm(PostedForm):
    """The upload page's question beside the file: is this every pupil on roll?"""

    full: Text = ""

    def validate(self) -> Checked[bool | None]:
        if self.full not in ("yes", "no"):
            return Checked(None, {"full": "Say whether the file has every pupil on roll"})
        return Checked(self.full == "yes")


@dataclass(frozen=True)
class ColumnsForm(PostedForm):
    """Which column of the file holds each field: one select per field (named as the field)."""

    pupil_id: Text = ""
    legal_first_name: Text = ""
    legal_last_name: Text = ""
    preferred_name: Text = ""
    year_group: Text = ""
    class_name: Text = ""
    date_of_birth: Text = ""
    contact1_name: Text = ""
    contact1_email: Text = ""
    contact1_relationship: Text = ""
    contact1_responsibility: Text = ""
    contact2_name: Text = ""
    contact2_email: Text = ""
    contact2_relationship: Text = ""
    contact2_responsibility: Text = ""
    contact3_name: Text = ""
    contact3_email: Text = ""
    contact3_relationship: Text = ""
    contact3_responsibility: Text = ""

    def mapping(self) -> dict[str, str]:
        return {each.name: getattr(self, each.name) for each in fields(self)}

    def validate_against(self, header: list[str]) -> Checked[dict[str, str]]:
        mapping = self.mapping()
        return Checked(mapping, mapping_problems(mapping, header))


@dataclass(frozen=True)
class FlagForm(PostedForm):
    """Restricting a pupil's photos: the kind of safeguarding reason, and the reason in words."""

    kind: Text = ""
    reason: Text = ""

    def validate(self) -> Checked[tuple[FlagKind, str] | None]:
        errors: dict[str, str] = {}
        kind = self.kind if self.kind in FlagKind.__members__ else None
        if kind is None:
            errors["kind"] = "Choose why this pupil's photos are restricted"
        reason = self.reason.strip()
        if not reason:
            errors["reason"] = "Write the reason, for the staff who may read it"
        elif len(reason) > MAX_REASON:
            errors["reason"] = f"The reason must be {MAX_REASON:,} characters or fewer"
        if errors or kind is None:
            return Checked(None, errors)
        return Checked((FlagKind(kind), reason))


async def posted_answers(request: Request) -> dict[str, str]:
    """The answer and naming fields of the answers form (`answer_<key>`, `naming_<key>`): one
    pair per purpose, and the school's purposes change, so they are read by name here."""
    form = await request.form()
    return {
        key: value
        for key, value in form.items()
        if isinstance(value, str)
        and key.startswith(("answer_", "naming_", "agreed_"))
        and len(key) <= 60
    }


PostedAnswers = Annotated[dict[str, str], Depends(posted_answers)]


async def posted_scan(request: Request) -> UploadFile | None:
    """The scanned form chosen on the answers page, if one was (`scan_file`). Read here rather
    than as a `File()` parameter: a browser that sends the field without a file, or as text,
    gets the form back with its message, not a bare validation error."""
    form = await request.form()
    upload = form.get("scan_file")
    return upload if isinstance(upload, UploadFile) and upload.filename else None


PostedScan = Annotated[UploadFile | None, Depends(posted_scan)]


@dataclass(frozen=True)
class ConsentEntryForm(PostedForm):
    """A parent's answers from a paper form or a phone call, entered by staff: who answered,
    how (with the scanned form, or a note of the call), and yes/no (or left unanswered) per
    purpose, with naming where the purpose asks it. The answers come from `posted_answers`."""

    contact_id: Text = ""
    how: Text = ""
    call_note: Text = ""
    scan_id: Text = ""

    def typed_with(self, posted: dict[str, str]) -> dict[str, str]:
        return {**posted, **self.typed()}

    def validate_for(
        self,
        purposes: list[Purpose],
        contact_ids: set[int],
        posted: dict[str, str],
        *,
        asks_pupil: bool = False,
    ) -> Checked[tuple[int, AnswerHow, list[Answer]] | None]:
        """`asks_pupil`: the pupil is 12 or over and the school asks pupils too, so each yes
        says whether the pupil agreed (`agreed_<key>`)."""
        errors: dict[str, str] = {}
        contact_id = row_id_or_none(self.contact_id)
        if contact_id is None or contact_id not in contact_ids:
            errors["contact_id"] = "Choose who gave these answers"
        how = self.how if self.how in (AnswerHow.paper, AnswerHow.phone) else None
        if how is None:
            errors["how"] = "Choose how they gave their answers"
        elif how == AnswerHow.phone:
            note = self.call_note.strip()
            if not note:
                errors["call_note"] = NEEDS_NOTE
            elif len(note) > MAX_CALL_NOTE:
                errors["call_note"] = f"The note must be {MAX_CALL_NOTE:,} characters or fewer"
        answers: list[Answer] = []
        for purpose in purposes:
            given = posted.get(f"answer_{purpose.key}", "")
            if not given:
                continue
            if given not in ("yes", "no"):
                errors[f"answer_{purpose.key}"] = f"Choose yes or no for {purpose.name.lower()}"
                continue
            naming_typed = posted.get(f"naming_{purpose.key}", "")
            naming: bool | None = None
            if given == "yes" and purpose.asks_naming:
                if naming_typed not in ("yes", "no"):
                    errors[f"naming_{purpose.key}"] = (
                        f"Say whether the child may be named for {purpose.name.lower()}"
                    )
                    continue
                naming = naming_typed == "yes"
            agreed: bool | None = None
            if given == "yes" and asks_pupil:
                agreed_typed = posted.get(f"agreed_{purpose.key}", "")
                if agreed_typed not in ("yes", "no"):
                    errors[f"agreed_{purpose.key}"] = (
                        f"Say whether the pupil agreed too, for {purpose.name.lower()}"
                    )
                    continue
                agreed = agreed_typed == "yes"
            answers.append(Answer(purpose, given == "yes", naming, agreed))
        if not answers and not errors:
            errors[f"answer_{purposes[0].key}" if purposes else "how"] = (
                "Answer at least one question"
            )
        if errors or contact_id is None or how is None:
            return Checked(None, errors)
        return Checked((contact_id, AnswerHow(how), answers))


@dataclass(frozen=True)
class PhotoCheckForm(PostedForm):
    """The photo check: the purpose and the pupils ticked."""

    purpose: Text = ""
    pupil_ids: Ticked = None

    def validate_for(self, purposes: list[Purpose]) -> Checked[tuple[Purpose, list[int]] | None]:
        errors: dict[str, str] = {}
        chosen = next((p for p in purposes if p.key == self.purpose), None)
        if chosen is None:
            errors["purpose"] = "Choose where the picture will be used"
        ids = [i for i in (row_id_or_none(v) for v in self.pupil_ids or []) if i is not None]
        if not ids:
            errors["pupil_ids"] = "Tick the pupils in the picture"
        elif len(ids) > MAX_PUPILS:
            errors["pupil_ids"] = f"Tick {MAX_PUPILS} pupils or fewer"
        if errors or chosen is None:
            return Checked(None, errors)
        return Checked((chosen, ids))


@dataclass(frozen=True)
class ConsentRequestForm(PostedForm):
    """Sending a request for answers: the class or year group and the purposes asked about
    (as previewed, sent back as hidden fields)."""

    group: Text = ""
    purposes: Ticked = None


@dataclass(frozen=True)
class ValidityForm(PostedForm):
    """How long an answer lasts, and the settings' revision the page showed."""

    validity: Text = ""
    seen: Text = ""


@dataclass(frozen=True)
class AskingForm(PostedForm):
    """How the school asks: pupils of 12 and over too (yes/no), and the two intervals in days."""

    ask_pupils: Text = ""
    request_interval_days: Text = ""
    confirmation_reminder_days: Text = ""
    seen: Text = ""

    def validate(self) -> Checked[tuple[bool, int, int] | None]:
        problems: dict[str, str] = {}
        if self.ask_pupils not in ("yes", "no"):
            problems["ask_pupils"] = "Say whether pupils aged 12 and over are asked too"
        requests, problem = read_days(self.request_interval_days)
        if problem:
            problems["request_interval_days"] = problem
        reminders, problem = read_days(self.confirmation_reminder_days)
        if problem:
            problems["confirmation_reminder_days"] = problem
        if problems or requests is None or reminders is None:
            return Checked(None, problems)
        return Checked((self.ask_pupils == "yes", requests, reminders))


@dataclass(frozen=True)
class FlagRolesForm(PostedForm):
    """Which roles read a safeguarding flag's kind and reason."""

    flag_roles: Ticked = None
    seen: Text = ""


@dataclass(frozen=True)
class PurposeForm(PostedForm):
    """A use parents answer for: its name, wording, whether naming is asked apart and, when the
    wording changes, whether parents are asked again."""

    name: Text = ""
    wording: Text = ""
    asks_naming: Text = ""
    ask_again: Text = ""
    seen: Text = ""

    def validate(self) -> Checked[tuple[str, str, bool, bool] | None]:
        (name, wording), problems = read_purpose(self.name, self.wording)
        if self.asks_naming not in ("yes", "no"):
            problems["asks_naming"] = "Say whether parents are asked about naming their child"
        if problems:
            return Checked(None, problems)
        return Checked((name, wording, self.asks_naming == "yes", self.ask_again == "yes"))


@dataclass(frozen=True)
class SeenForm(PostedForm):
    """A button on the settings page: what the page showed (a revision, or the order)."""

    seen: Text = ""


@dataclass(frozen=True)
class MoveForm(PostedForm):
    direction: Text = ""
    seen: Text = ""


def seen_revision(value: str) -> int:
    """The revision a page showed; anything else is a revision no row has (-1)."""
    value = value.strip()
    if value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return -1


@dataclass(frozen=True)
class LinkRequestForm(PostedForm):
    """A parent asking for a sign-in link: their email address."""

    email: Text = ""

    def validate(self) -> Checked[str | None]:
        typed = self.email.strip()
        if not typed:
            return Checked(None, {"email": "Enter your email address"})
        try:
            return Checked(normalised_address(typed))
        except InvalidAddress:
            return Checked(
                None, {"email": "Enter an email address in the right form, like name@example.com"}
            )


@dataclass(frozen=True)
class NextForm(PostedForm):
    """Where to go after using a sign-in link (checked by `sign_in.safe_next`)."""

    next: Text = ""


ANSWER_FIELDS = ("answer", "naming", "agreed", "version")
MAX_POSTED_FIELDS = 200


@dataclass(frozen=True)
class ParentAnswersForm:
    """A parent's answers for one child: per purpose key, `answer_<key>` (yes or no; left empty,
    the question adds no record), `naming_<key>` where the purpose asks it, `agreed_<key>` when
    the pupil is asked too, and `version_<key>`, the wording version the page showed. The fields
    follow the purposes, so they are read from the posted form rather than declared."""

    fields: dict[str, str]

    @classmethod
    def read(cls, posted: dict[str, str]) -> ParentAnswersForm:
        kept = {
            name: value[:20]
            for name, value in list(posted.items())[:MAX_POSTED_FIELDS]
            if name.partition("_")[0] in ANSWER_FIELDS and len(name) <= 60
        }
        return cls(kept)

    def typed(self) -> dict[str, str]:
        return dict(self.fields)

    def validate_for(
        self, purposes: list[Purpose], *, prefix: str, child: str, pupil_asked: bool
    ) -> Checked[list[OnlineAnswer] | None]:
        """`prefix` makes the field ids of this child's form unique on the page; `child` is the
        child's first name, for the messages."""
        errors: dict[str, str] = {}
        answers: list[OnlineAnswer] = []
        for purpose in purposes:
            given = self.fields.get(f"answer_{purpose.key}", "")
            if not given:
                continue
            field_id = f"{prefix}answer_{purpose.key}"
            if given not in ("yes", "no"):
                errors[field_id] = f"Choose yes or no for {purpose.name.lower()}"
                continue
            naming: bool | None = None
            agreed: bool | None = None
            if given == "yes" and purpose.asks_naming:
                typed = self.fields.get(f"naming_{purpose.key}", "")
                if typed not in ("yes", "no"):
                    errors[f"{prefix}naming_{purpose.key}"] = (
                        f"Say whether we may give {child}'s name for {purpose.name.lower()}"
                    )
                    continue
                naming = typed == "yes"
            if given == "yes" and pupil_asked:
                typed = self.fields.get(f"agreed_{purpose.key}", "")
                if typed not in ("yes", "no"):
                    errors[f"{prefix}agreed_{purpose.key}"] = (
                        f"Say whether {child} agrees to {purpose.name.lower()}"
                    )
                    continue
                agreed = typed == "yes"
            version = row_id_or_none(self.fields.get(f"version_{purpose.key}", ""))
            answers.append(OnlineAnswer(purpose, given == "yes", naming, agreed, version or 0))
        if not answers and not errors:
            first = purposes[0].key if purposes else ""
            errors[f"{prefix}answer_{first}"] = "Answer at least one question"
        if errors:
            return Checked(None, errors)
        return Checked(answers)
