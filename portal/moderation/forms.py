"""The forms of the comment and moderation pages (`portal.forms`)."""

from __future__ import annotations

from dataclasses import dataclass

from portal.forms import Checked, PostedForm, Text, Ticked
from portal.inputs import row_id_or_none
from portal.mail import InvalidAddress, normalised_address
from portal.moderation.models import ExternalAction, ExternalChannel, WhoMayComment, WordKind
from portal.moderation.services import external
from portal.moderation.services.comments import check_words
from portal.moderation.services.decisions import Action, Decision, Redaction, check_extra_words
from portal.moderation.services.settings import MAX_REPORTS, MIN_REPORTS, ModerationChoice


@dataclass(frozen=True)
class CommentForm(PostedForm):
    body: Text = ""
    display_name: Text = ""
    post_anyway: Text = ""

    def validate(self) -> Checked[tuple[str, str] | None]:
        errors = check_words(self.body, self.display_name)
        if errors:
            return Checked(None, errors)
        return Checked((self.body.strip(), self.display_name.strip()))


@dataclass(frozen=True)
class EmailForm(PostedForm):
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
class ReportForm(PostedForm):
    reason: Text = ""


@dataclass(frozen=True)
class DecisionForm(PostedForm):
    action: Text = ""
    reason: Text = ""
    reject_pending: Text = ""
    comment_ids: Ticked = None

    def validate(self) -> Checked[Decision | None]:
        if self.action not in Action.__members__:
            return Checked(None, {"action": "Choose what to do"})
        return Checked(
            Decision(Action(self.action), self.reason, reject_pending=self.reject_pending == "yes")
        )

    def ids(self) -> list[int]:
        found = [row_id_or_none(value) for value in (self.comment_ids or [])]
        return [value for value in found if value is not None]


@dataclass(frozen=True)
class RedactionForm(PostedForm):
    """What a redaction removes: the flagged parts ticked, and any words typed as well."""

    parts: Ticked = None
    also_remove: Text = ""
    preview: Text = ""

    def part_ids(self) -> tuple[int, ...]:
        found = [row_id_or_none(value) for value in (self.parts or [])]
        return tuple(value for value in found if value is not None)

    def validate(self, text: str) -> Checked[Decision | None]:
        words, problem = check_extra_words(text, self.also_remove)
        if problem:
            return Checked(None, {"also_remove": problem})
        ids = self.part_ids()
        if not ids and not words:
            return Checked(
                None, {"parts": "Choose at least one part to remove, or type the words to remove"}
            )
        return Checked(Decision(Action.redact, redaction=Redaction(ids, tuple(words))))


@dataclass(frozen=True)
class WordForm(PostedForm):
    kind: Text = ""
    word: Text = ""

    def validate(self) -> Checked[WordKind | None]:
        if self.kind not in WordKind.__members__:
            return Checked(None, {"kind": "Choose the list"})
        return Checked(WordKind(self.kind))


@dataclass(frozen=True)
class TestTextForm(PostedForm):
    text: Text = ""

    def validate(self) -> Checked[str | None]:
        if not self.text.strip():
            return Checked(None, {"text": "Enter some words to test"})
        if len(self.text) > 5000:
            return Checked(None, {"text": "Enter 5,000 characters or fewer"})
        return Checked(self.text)


@dataclass(frozen=True)
class ExternalForm(PostedForm):
    channel: Text = ""
    link: Text = ""
    author: Text = ""
    body: Text = ""
    action: Text = ""

    def validate(self) -> Checked[external.NewExternal | None]:
        errors = external.check(self.channel, self.link, self.author, self.body, self.action)
        if errors:
            return Checked(None, errors)
        return Checked(
            external.NewExternal(
                ExternalChannel(self.channel),
                self.link,
                self.author,
                self.body,
                ExternalAction(self.action),
            )
        )


@dataclass(frozen=True)
class SettingsForm(PostedForm):
    who_may_comment: Text = ""
    reports_to_hide: Text = ""
    seen: Text = ""

    def validate(self) -> Checked[ModerationChoice | None]:
        errors: dict[str, str] = {}
        if self.who_may_comment not in WhoMayComment.__members__:
            errors["who_may_comment"] = "Choose who may comment"
        typed = self.reports_to_hide.strip()
        number = int(typed) if typed.isascii() and typed.isdigit() and len(typed) < 4 else None
        if number is None or not MIN_REPORTS <= number <= MAX_REPORTS:
            errors["reports_to_hide"] = (
                f"Enter a whole number from {MIN_REPORTS} to {MAX_REPORTS}, like 3"
            )
        if errors:
            return Checked(None, errors)
        assert number is not None
        return Checked(ModerationChoice(WhoMayComment(self.who_may_comment), number))

    def seen_revision(self) -> int:
        return row_id_or_none(self.seen) or 0
