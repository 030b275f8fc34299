"""Who a parent's words name: their answer to "who is it about?" matched against the staff list.

The match decides who must not see a case from the moment it arrives, so it leans towards
excluding: a full name, or a title and a surname only one person has, is a sure match; a surname
or a first name alone is an unsure one, which also excludes until someone else who sorts cases
clears it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from portal.accounts.models import StaffUser

TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "sir", "madam", "mister", "prof"})
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class NameMatch:
    user: StaffUser
    sure: bool
    words: str


def name_words(text: str) -> list[str]:
    """Lower-case words, no accents or punctuation: "Mrs O'Brien-Sané" -> mrs, o, brien, sane."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _WORD.findall(plain)


def _own_words(user: StaffUser) -> list[str]:
    return [word for word in name_words(user.name) if word not in TITLES]


def match_named_staff(text: str, staff: Iterable[StaffUser]) -> list[NameMatch]:
    """Everyone the parent's words may mean, sure matches first."""
    words = name_words(text)
    if not words:
        return []
    present = set(words)
    people = [(user, _own_words(user)) for user in staff]
    surnames: dict[str, int] = {}
    for _user, own in people:
        if own:
            surnames[own[-1]] = surnames.get(own[-1], 0) + 1
    titled = {words[i + 1] for i in range(len(words) - 1) if words[i] in TITLES}
    matches: list[NameMatch] = []
    for user, own in people:
        if not own:
            continue
        first, last = own[0], own[-1]
        if len(own) > 1 and first in present and last in present:
            matches.append(NameMatch(user, True, f"{first} {last}"))
        elif last in titled and surnames[last] == 1:
            matches.append(NameMatch(user, True, last))
        elif last in present and len(last) > 1:
            matches.append(NameMatch(user, False, last))
        elif len(first) > 2 and first in present:
            matches.append(NameMatch(user, False, first))
    return sorted(matches, key=lambda match: (not match.sure, match.user.name))
