"""The forms of the pupil register pages (`portal.forms`)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from portal.consent.models import AnswerHow, FlagKind, Purpose
from portal.consent.services.answers import Answer
from portal.consent.services.flags import MAX_REASON
from portal.consent.services.photo_check import MAX_PUPILS
from portal.consent.services.register import mapping_problems
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


@dataclass(frozen=True)
class ConsentEntryForm(PostedForm):
    """A parent's answers from a paper form or a phone call, entered by staff: who answered,
    how, and yes/no (or left unanswered) per purpose, with naming where the purpose asks it.
    One field pair per default purpose key (`services.purposes.DEFAULT_PURPOSES`)."""

    contact_id: Text = ""
    how: Text = ""
    answer_displays: Text = ""
    answer_website: Text = ""
    answer_social_media: Text = ""
    answer_newsletter: Text = ""
    answer_local_press: Text = ""
    answer_video: Text = ""
    naming_displays: Text = ""
    naming_website: Text = ""
    naming_social_media: Text = ""
    naming_newsletter: Text = ""
    naming_local_press: Text = ""
    naming_video: Text = ""

    def validate_for(
        self, purposes: list[Purpose], contact_ids: set[int]
    ) -> Checked[tuple[int, AnswerHow, list[Answer]] | None]:
        errors: dict[str, str] = {}
        contact_id = row_id_or_none(self.contact_id)
        if contact_id is None or contact_id not in contact_ids:
            errors["contact_id"] = "Choose who gave these answers"
        how = self.how if self.how in (AnswerHow.paper, AnswerHow.phone) else None
        if how is None:
            errors["how"] = "Choose how they gave their answers"
        answers: list[Answer] = []
        for purpose in purposes:
            given = getattr(self, f"answer_{purpose.key}", None)
            if not given:
                continue
            if given not in ("yes", "no"):
                errors[f"answer_{purpose.key}"] = f"Choose yes or no for {purpose.name.lower()}"
                continue
            naming_typed = getattr(self, f"naming_{purpose.key}", "")
            naming: bool | None = None
            if given == "yes" and purpose.asks_naming:
                if naming_typed not in ("yes", "no"):
                    errors[f"naming_{purpose.key}"] = (
                        f"Say whether the child may be named for {purpose.name.lower()}"
                    )
                    continue
                naming = naming_typed == "yes"
            answers.append(Answer(purpose, given == "yes", naming))
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
