"""The forms of the pupil register pages (`portal.forms`)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from portal.consent.models import FlagKind
from portal.consent.services.flags import MAX_REASON
from portal.consent.services.register import mapping_problems
from portal.forms import Checked, PostedForm, Text


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
