"""Screening a comment before a moderator reads it: what in it needs a second look, and why.

This first version holds the agreed interface and simple rules (whole-word lists, register names,
links, emails, phone numbers, postcodes, complaint cues); the full engine (fuzzy names, leetspeak
folding, street addresses, a fast multi-pattern index) replaces its insides, not its interface.
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlmodel import Session


class Severity(enum.StrEnum):
    reject = "reject"  # banned words: refused at once, the reason recorded
    hold = "hold"  # everything else: held for a moderator, with the flag shown


class Rule(enum.StrEnum):
    banned_word = "banned_word"
    abusive_word = "abusive_word"
    suspect_word = "suspect_word"
    pupil_name = "pupil_name"
    staff_name = "staff_name"
    phone_number = "phone_number"
    email_address = "email_address"
    street_address = "street_address"
    postcode = "postcode"
    link = "link"
    complaint = "complaint"

    @property
    def label(self) -> str:
        return _RULE_LABELS[self]


_RULE_LABELS = {
    Rule.banned_word: "A banned word",
    Rule.abusive_word: "An abusive word",
    Rule.suspect_word: "A word to check",
    Rule.pupil_name: "A pupil's name",
    Rule.staff_name: "A member of staff's name",
    Rule.phone_number: "A phone number",
    Rule.email_address: "An email address",
    Rule.street_address: "A street address",
    Rule.postcode: "A postcode",
    Rule.link: "A link",
    Rule.complaint: "Reads like a complaint",
}


@dataclass(frozen=True)
class Flag:
    rule: Rule
    severity: Severity
    start: int
    end: int
    matched: str
    context: str
    explanation: str


@dataclass(frozen=True)
class Screening:
    text: str
    flags: tuple[Flag, ...]

    @property
    def rejected(self) -> bool:
        return any(flag.severity == Severity.reject for flag in self.flags)

    @property
    def held_for(self) -> tuple[Rule, ...]:
        seen: list[Rule] = []
        for flag in self.flags:
            if flag.severity == Severity.hold and flag.rule not in seen:
                seen.append(flag.rule)
        return tuple(seen)

    @property
    def complaint_like(self) -> bool:
        return any(flag.rule == Rule.complaint for flag in self.flags)

    def rejection_reason(self) -> str | None:
        for flag in self.flags:
            if flag.severity == Severity.reject:
                return (
                    f'Your comment uses a word the school does not allow ("{flag.matched}"), '
                    "so it has not been posted."
                )
        return None


@dataclass(frozen=True)
class RegisterName:
    first: str
    last: str
    kind: Literal["pupil", "staff"]
    where: str


DEFAULT_ABUSIVE: tuple[str, ...] = ("idiot", "stupid", "useless", "moron", "pathetic")
DEFAULT_BANNED: tuple[str, ...] = ("kill you",)
DEFAULT_SUSPECT: tuple[str, ...] = (
    "sue",
    "solicitor",
    "ofsted",
    "police",
    "social services",
    "facebook",
    "disgrace",
)
_COMPLAINT_CUES = (
    "complain",
    "complaint",
    "unacceptable",
    "disgrace",
    "disgraceful",
    "nobody listens",
    "not dealt with",
)
_WORD = re.compile(r"\w+(?:'\w+)?")
_LINK = re.compile(r"\b(?:https?://\S+|www\.\S+|[a-z0-9-]+\.(?:com|co\.uk|org|net|uk)\b\S*)", re.I)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PHONE = re.compile(r"(?<!\d)(?:\+44\s?|0)(?:\d[\s-]?){9,10}(?!\d)")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.I)


class Screener:
    """Screens comments against the register and the word lists, built once and reused."""

    def __init__(
        self,
        names: Sequence[RegisterName],
        banned: Iterable[str] = (),
        suspect: Iterable[str] = (),
        abusive: Iterable[str] | None = None,
    ) -> None:
        self._names = list(names)
        self._phrases: list[tuple[re.Pattern[str], Rule, Severity]] = []
        for words, rule, severity in (
            (banned, Rule.banned_word, Severity.reject),
            (DEFAULT_ABUSIVE if abusive is None else abusive, Rule.abusive_word, Severity.hold),
            (suspect, Rule.suspect_word, Severity.hold),
            (_COMPLAINT_CUES, Rule.complaint, Severity.hold),
        ):
            for word in words:
                if word.strip():
                    pattern = re.compile(rf"\b{re.escape(word.strip())}\b", re.I)
                    self._phrases.append((pattern, rule, severity))
        self._full_names: dict[str, RegisterName] = {}
        for name in self._names:
            self._full_names[f"{name.first} {name.last}".casefold()] = name

    def screen(self, text: str) -> Screening:
        flags: list[Flag] = []
        for pattern, rule, severity in self._phrases:
            for match in pattern.finditer(text):
                flags.append(_flag(text, match.start(), match.end(), rule, severity))
        for rule, pattern in (
            (Rule.email_address, _EMAIL),
            (Rule.link, _LINK),
            (Rule.phone_number, _PHONE),
            (Rule.postcode, _POSTCODE),
        ):
            for match in pattern.finditer(text):
                flags.append(_flag(text, match.start(), match.end(), rule, Severity.hold))
        words = list(_WORD.finditer(text))
        for first, second in itertools.pairwise(words):
            name = self._full_names.get(f"{first.group()} {second.group()}".casefold())
            if name is not None:
                rule = Rule.pupil_name if name.kind == "pupil" else Rule.staff_name
                flags.append(_flag(text, first.start(), second.end(), rule, Severity.hold))
        flags.sort(key=lambda flag: (flag.start, flag.end))
        return Screening(text=text, flags=tuple(flags))


def _flag(text: str, start: int, end: int, rule: Rule, severity: Severity) -> Flag:
    before = text[max(0, start - 40) : start]
    after = text[end : end + 40]
    context = ("…" if start > 40 else "") + before + text[start:end] + after
    context += "…" if end + 40 < len(text) else ""
    matched = text[start:end]
    return Flag(
        rule=rule,
        severity=severity,
        start=start,
        end=end,
        matched=matched,
        context=context,
        explanation=f'{rule.label}: "{matched}".',
    )


def register_names(session: Session) -> list[RegisterName]:
    """Pupils on roll and active staff, as screening looks for them."""
    from portal.accounts.models import StaffUser
    from portal.consent.models import Pupil

    names = [
        RegisterName(
            first=pupil.first_name,
            last=pupil.legal_last_name,
            kind="pupil",
            where=f"{pupil.year_group}, {pupil.class_name}",
        )
        for pupil in session.scalars(select(Pupil).where(Pupil.on_roll))
    ]
    for user in session.scalars(select(StaffUser)):
        first, _, last = user.name.partition(" ")
        names.append(RegisterName(first=first, last=last or first, kind="staff", where="Staff"))
    return names
