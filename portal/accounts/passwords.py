"""Staff passwords that are too easy to guess, checked offline against a list shipped with the code.

The list (`common-passwords.txt.gz`, 19,640 passwords) is the one Django ships for its
CommonPasswordValidator, which Django's documentation credits to Royce Williams (see
`common-passwords.NOTICE` and docs/decisions.md). Nothing is sent anywhere to check a password.

Almost all of the list is shorter than the 12 characters staff passwords need, so a password is
also refused when it is a listed password with a little added: digits or symbols at either end
("Password2026!"), common letter swaps ("P@ssw0rd"), separators ("pass-word"), or repeats
("monkeymonkey"). Also refused: very few different characters, runs along the keyboard or the
alphabet, and the person's own name or email, or the school's name, with a little added.
"""

from __future__ import annotations

import gzip
import re
import string
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt.gz")

TOO_COMMON = (
    "Choose a password that is harder to guess. This one is on a list of common passwords, "
    "or is too close to one. Try three or four random words."
)
TOO_PERSONAL = (
    "Choose a password that is harder to guess. Do not use the person's name, their email "
    "address or the school's name."
)

_ENDS = string.digits + string.punctuation + string.whitespace
_SEPARATORS = re.compile(r"[\s._\-+*/\\|,;:~]+")
_SWAPS = str.maketrans(
    {"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s", "7": "t"}
)
_RUNS = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
    "zxcvbnmasdfghjklqwertyuiop",
)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def _cores(password: str) -> set[str]:
    """The password and what is left of it without the usual padding and disguises."""
    lowered = password.lower().strip()
    found = {lowered}
    for text in (lowered, lowered.translate(_SWAPS)):
        trimmed = text.strip(_ENDS)
        found |= {text, trimmed, _SEPARATORS.sub("", text), _SEPARATORS.sub("", trimmed)}
    for text in list(found):
        unit = _repeated_unit(text)
        if unit:
            found.add(unit)
    return {text for text in found if text}


def _repeated_unit(text: str) -> str | None:
    """ "abcabcabc" -> "abc"; None when `text` is not one piece said again and again."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return None


def _is_run(text: str) -> bool:
    """Along the keyboard or the alphabet, forwards or backwards, possibly wrapping round."""
    if len(text) < 4:
        return False
    for run in _RUNS:
        looped = run * (len(text) // len(run) + 2)
        if text in looped or text in looped[::-1]:
            return True
    return False


def _personal_words(words: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for text in words:
        lowered = text.lower().strip()
        if not lowered:
            continue
        local = lowered.partition("@")[0]
        found |= {_SEPARATORS.sub("", lowered), _SEPARATORS.sub("", local)}
        found |= {part for part in _SEPARATORS.split(local) if len(part) >= 4}
        found |= {part for part in re.split(r"\W+", lowered) if len(part) >= 4}
    return {word for word in found if len(word) >= 4}


def password_problem(password: str, *, personal: Iterable[str] = ()) -> str | None:
    """Why `password` is too easy to guess, in words to show; None when it is fine."""
    cores = _cores(password)
    lowered = password.lower()
    if cores & common_passwords():
        return TOO_COMMON
    if len(set(lowered)) <= 3 or any(_is_run(core) for core in cores):
        return TOO_COMMON
    words = _personal_words(personal)
    if cores & words:
        return TOO_PERSONAL
    return None
