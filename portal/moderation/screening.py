"""Screening a news comment before it reaches the moderation queue: in-process, no network, fast,
and every finding explained to the moderator.

`Screener(names, banned, suspect)` builds its indexes once (the register's names, the word lists,
the class names); `screen(text)` returns a `Screening`: the text and its `Flag`s in text order,
each with the rule, the severity (banned words reject, everything else holds), the offsets
(`text[start:end] == matched`), the words around it and one sentence for the moderator.

How the text is read
    The text is lower-cased and folded ONCE into a string of the same length, so offsets carry
    over: accents dropped ("Zoë" reads "zoe"), curly apostrophes made straight, and leetspeak
    read as letters (0→o, 1→i, 3→e, 4→a, 5→s, 7→t, @→a, $→s, and ! inside a word→i; a second
    folding reads 1 as l, for "ki11"). One regex then cuts it into words with their offsets
    (a word keeps inner apostrophes, "O'Neill", and zero-width characters, "id\u200biot"); a
    possessive "'s" is not part of the name. Every word is then looked up in dicts: no pattern
    is searched inside a word.

Word lists (banned → reject; the default abusive list and the admins' suspect list → hold)
    Whole words only, after the folding above. Repeated letters fold too: each list word is
    indexed by its letters with runs squeezed ("idiot" → "idiot", "class" → "clas") and a word
    of the comment matches when its squeezed form is the same and each run is at least as long
    as the list word's ("iiiidiot", "stuuupid" match; "as" never matches "ass"). Letters split
    by spaces, dots or dashes ("i d i o t", "f.u.c.k") are joined and looked up the same way. A
    list entry of several words ("social services", "kill you") matches those words in a row.
    Why "Scunthorpe", "specialist", "assessment", "cocktail", "Essex", "class" and
    "grasshopper" are safe: the unit of matching is the whole word, so "scunthorpe" is looked up
    as "scunthorpe" and is on no list; nothing is ever searched for inside it. Numbers alone are
    never read as words ("£455" is not "ass"): a match needs a letter in what was written.

Names (pupils and staff on the register → hold)
    First names and surnames are dict lookups on the folded words. A full name ("Olivia
    Bennett") matches in any case, its surname allowed one misspelling (two for seven letters or
    more: "Olivia Benet"). A name that is also an ordinary word (Will, Hope, Grace, May, Brown,
    the list in wordlists/common_words.txt) matches only when capitalised mid-sentence, after a
    title ("Mrs Brown"), followed by the person's surname ("Grace Okafor") or by their class
    ("Grace in Oak class", "Will from Year 4"); so "Will you be there?", "I hope" and "Grace
    before meals" are not names, and neither are "5 May", "the Summer Fair" or "Holly Lodge"
    (a month beside a date, a name followed by a capitalised word that is no surname on the
    register). A surname alone is a name ("Mr Patel", "the Bennett boy"); a title with a surname
    or a staff first name is matched with the title ("Mrs Okafor", "Miss Amara"). A capitalised
    word of four letters or more that is not an ordinary word and not a name is compared with
    the register's names of five letters or more that are one edit away (rapidfuzz, on a
    length-bucketed list, the answer cached per word); a pupil's name is preferred to a staff
    name unless a title says staff.

Personal data, links (→ hold)
    Phone numbers: a cheap regex finds runs of nine or more digits starting 0 or +, and only
    around those does `phonenumbers` (region GB) decide; a number must start 0 or + ("4 2025
    2026" is no phone). Emails, links (http(s)://, www., and bare domains on a list of top-level
    domains that are not English words: "e.g." and "i.e." are not links), UK postcodes (the
    real postcode areas, and the inward code's letters, so "B4 2PM" is not a postcode), and
    street addresses (a house number, capitalised words and a street word: "12 Oak Road"; a
    lower-case "road", "street", "lane", "avenue" or "crescent" counts too).

Complaints (→ hold)
    A scored set of cues ("complain", "unacceptable", "disgrace", "nobody listens", "I want to
    speak to", "shouted at my child", "bullying not dealt with", "going to Ofsted", ...), each
    with a weight; praise ("thank you", "well done", "brilliant") takes a little off. A comment
    scoring 3 or more is complaint-like and each cue found is a flag. Cue regexes run only when
    one of their trigger words is among the comment's words, so most comments run none.

Speed: at least 10,000 comments a second on one core with a register of 2,150 names
(`python -m tests.bench.screening`; docs/performance.md, "Screening comments").
"""

from __future__ import annotations

import enum
import operator
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

import phonenumbers
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import extractOne
from sqlalchemy import select

from portal.accounts.models import StaffUser
from portal.consent.models import Pupil

if TYPE_CHECKING:
    from sqlmodel import Session

WORDLISTS = Path(__file__).parent / "wordlists"


class Severity(enum.StrEnum):
    reject = "reject"
    hold = "hold"


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
        return RULE_LABELS[self]

    @property
    def severity(self) -> Severity:
        return Severity.reject if self is Rule.banned_word else Severity.hold


RULE_LABELS: dict[Rule, str] = {
    Rule.banned_word: "A word the school does not allow",
    Rule.abusive_word: "An abusive or rude word",
    Rule.suspect_word: "A word the school wants checked",
    Rule.pupil_name: "A pupil's name",
    Rule.staff_name: "A member of staff's name",
    Rule.phone_number: "A phone number",
    Rule.email_address: "An email address",
    Rule.street_address: "A street address",
    Rule.postcode: "A postcode",
    Rule.link: "A link to a website",
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
        return any(flag.severity is Severity.reject for flag in self.flags)

    @property
    def held_for(self) -> tuple[Rule, ...]:
        seen: dict[Rule, None] = {}
        for flag in self.flags:
            if flag.severity is Severity.hold:
                seen.setdefault(flag.rule)
        return tuple(seen)

    @property
    def complaint_like(self) -> bool:
        return any(flag.rule is Rule.complaint for flag in self.flags)

    def rejection_reason(self) -> str | None:
        """What the commenter may be told: only their own words are quoted, never the list."""
        words: dict[str, None] = {}
        for flag in self.flags:
            if flag.severity is Severity.reject:
                words.setdefault(_shown(flag.matched, 40))
        if not words:
            return None
        quoted = ", ".join(f"“{word}”" for word in list(words)[:5])
        return (
            "Your comment was not posted because it uses words the school does not allow on "
            f"its news channel ({quoted}). You are welcome to write it again without them."
        )


@dataclass(frozen=True)
class RegisterName:
    first: str
    last: str
    kind: Literal["pupil", "staff"]
    where: str

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}".strip()


def _read_list(name: str) -> tuple[str, ...]:
    entries: dict[str, None] = {}
    for line in (WORDLISTS / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            entries.setdefault(" ".join(line.lower().split()))
    return tuple(entries)


DEFAULT_ABUSIVE: tuple[str, ...] = _read_list("abusive.txt")
DEFAULT_BANNED: tuple[str, ...] = _read_list("banned.txt")
DEFAULT_SUSPECT: tuple[str, ...] = _read_list("suspect.txt")
COMMON_WORDS: frozenset[str] = frozenset(
    word for line in _read_list("common_words.txt") for word in line.split()
)

# --- Folding: one character for one character, so offsets into the folded text are the text's.


def _fold_tables() -> tuple[dict[int, str], dict[int, str]]:
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        base = unicodedata.normalize("NFKD", chr(code))[:1].lower()
        if base.isascii() and base.isalpha() and base != chr(code):
            table[code] = base
    table.update({ord("ß"): "s", ord("ø"): "o", ord("đ"): "d", ord("ł"): "l", ord("æ"): "a"})
    table.update({ord(c): "'" for c in "’‘ʼ`´"})
    leet = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
    table.update({ord(k): v for k, v in leet.items()})
    table[ord("!")] = "i"
    with_l = dict(table)
    with_l[ord("1")] = "l"
    return table, with_l


_FOLD, _FOLD_L = _fold_tables()
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_ZW_TABLE = {ord(c): None for c in _ZERO_WIDTH}
_WORD = re.compile(rf"[^\W\d_]+(?:['{_ZERO_WIDTH}]+[^\W\d_]+)*")
_BANG_NOT_IN_WORD = re.compile(r"!(?![^\W_]|[@$])")
_RUNS = re.compile(r"(.)\1+")
_SPACED = re.compile(r"(?<![^\W\d_])[^\W\d_](?:[ .\-_*/|]{1,3}[^\W\d_]){2,}(?![^\W\d_])")
_CAPITAL = re.compile(r"[A-ZÀ-ÖØ-Þ][^\W\d_]{3,}(?![^\W_'])")
_DIGIT = re.compile(r"\d")
_THREE_SINGLES = re.compile(r" [^ ] [^ ] [^ ] ")
_PLAIN = re.compile(r"[ -~]*")


def fold(text: str) -> str:
    """The lookup form of a word or phrase, as the screener folds comments."""
    low = text.lower()
    folded = low.translate(_FOLD).translate(_ZW_TABLE).replace("'", "")
    return " ".join(_WORD.findall(folded))


_GROUP_1 = operator.itemgetter(1)  # a C callable: quicker than the template r"\1" per match


def _squeeze(word: str) -> str:
    return _RUNS.sub(_GROUP_1, word)


def _runs(word: str) -> tuple[int, ...]:
    return tuple(len(m.group()) for m in re.finditer(r"(.)\1*", word))


class _Entry(NamedTuple):
    rule: Rule
    words: tuple[str, ...]  # folded words of the list entry
    anchor: int  # the word it is indexed by: the longest (rarest, as a rule), so "the press"
    runs: tuple[int, ...]  # is looked at only where "press" is; run lengths of that word


class _Token(NamedTuple):
    key: str
    start: int
    end: int


def _tidy(word: str) -> tuple[str, int]:
    """A word's lookup key (no apostrophes, no zero-width characters, no possessive "'s") and
    how many characters the possessive took off its end."""
    cut = 0
    if "'" in word:
        if word.endswith("'s"):
            word, cut = word[:-2], 2
        word = word.replace("'", "")
    return word.translate(_ZW_TABLE), cut


class _Words:
    """A comment's words: their keys at once, their offsets only when something needs them."""

    def __init__(self, text: str, folded: str, keys: list[str], tidy: bool) -> None:
        self.text = text
        self.folded = folded
        self.keys = keys
        self.keyset = set(keys)
        self._tidy = tidy
        self._spans: list[tuple[int, int]] | None = None

    @property
    def spans(self) -> list[tuple[int, int]]:
        if self._spans is None:
            if self._tidy:
                self._spans = []
                for match in _WORD.finditer(self.folded):
                    cut = _tidy(match.group())[1]
                    self._spans.append((match.start(), match.end() - cut))
            else:
                self._spans = [match.span() for match in _WORD.finditer(self.folded)]
        return self._spans

    @property
    def tokens(self) -> list[_Token]:
        return [_Token(key, *span) for key, span in zip(self.keys, self.spans, strict=True)]


# --- Names


def _words(line: str) -> frozenset[str]:
    return frozenset(line.split())


TITLES = frozenset({"mr", "mrs", "miss", "ms", "mx", "dr", "sir", "madam", "mister", "master"})
_TITLE_WORDS = {"mr", "mrs", "miss", "ms", "mx", "dr", "sir"}
MONTHS = frozenset({"may", "june", "april", "august", "march"})
_MONTH_BEFORE = _words(
    "in of by until till since early late mid end during this next last on before after "
    "from every each"
)
_NOT_A_NAME_AFTER = _words(
    "term terms fair fete holiday holidays concert show uniform club trip festival service "
    "assembly half break camp reading challenge production play day week weeks fun time"
)
_SENTENCE_START = frozenset(".!?\n\r\"“”'‘’([{:;•*-–—…>")


def _class_cue(class_words: Iterable[str]) -> re.Pattern[str]:
    names = sorted({re.escape(w) for w in class_words if w}, key=len, reverse=True)
    classes = "|".join(names) or "(?!)"
    return re.compile(
        r"\s*(?:\(\s*|,\s*|\s-\s*)?(?:(?:in|from|of|at)\s+)?(?:the\s+)?"
        rf"(?:(?:year|yr)\s*(?:[1-6]|one|two|three|four|five|six)\b|y[1-6]\b|reception\b|"
        rf"nursery\b|class\s+(?:{classes})\b|(?:{classes})(?:\s+class)?\b)",
        re.IGNORECASE,
    )


def _opens_cue(text: str, end: int) -> bool:
    """A class cue needs "in/from/of/at", "(" or "," first: "Will Year 4 need...?" is a question."""
    rest = text[end : end + 8].lstrip().lower()
    return rest.startswith(("(", ",", "- ", "in ", "from ", "of ", "at "))


@dataclass(frozen=True)
class _NameHit:
    first: int  # token indexes, inclusive
    last: int
    people: tuple[RegisterName, ...]
    part: Literal["full", "first", "last", "title"]
    fuzzy: bool


# --- Personal data and links

_POSTCODE_AREAS = _words(
    "AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY "
    "E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE "
    "LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL "
    "SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE"
)
# No pattern here starts with a look-behind: a pattern that starts with a character class lets
# the regex engine skip ahead to where it can match; the word boundary before is checked after.
_POSTCODE = re.compile(r"\d[A-Za-z\d]?\s?\d[ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2}(?![\w])")
_STREET_WORDS = (
    "Road|Rd|Street|St|Lane|Ln|Close|Avenue|Ave|Drive|Dr|Way|Crescent|Cres|Court|Ct|Gardens|"
    "Grove|Place|Pl|Terrace|Walk|Mews|Rise|Hill|Park|View|Square|Row|Green|Parade|Vale|Meadows?|"
    "Fields|Gate|End|Croft|Wharf|Boulevard"
)
_ADDRESS = re.compile(
    r"\d{1,4}[a-zA-Z]?,?\s{1,3}(?:"
    rf"(?:[A-Z][a-z'’\-]{{1,30}}\s{{1,3}}){{1,3}}(?:{_STREET_WORDS})|"
    r"(?:[a-z'’\-]{1,30}\s{1,3}){1,3}(?:road|street|lane|avenue|crescent))(?![\w])"
)
_STREET_KEYS = frozenset(_STREET_WORDS.lower().replace("?", "|meadow").split("|"))
_NOT_A_HOUSE = re.compile(r"(?:year|yr|y|class|room|page|age|aged|group|table|number|no)\s*$")
_EMAIL = re.compile(r"[\w.+\-]{1,64}@[\w\-]{1,63}(?:\.[\w\-]{1,63}){1,8}")
_TLDS = (
    "com|org|net|uk|io|info|biz|ly|gov|edu|app|dev|xyz|online|site|shop|store|blog|eu|ie|de|fr|"
    "es|nl|ca|au|nz|ru|cn|tk|gg|co|tv|club|live|news|link|page|website|email|ac|sch"
)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']{1,2000}", re.IGNORECASE)
_TLD = re.compile(rf"\.(?:{_TLDS})(?![\w\-]|\.[a-z])", re.IGNORECASE)
_DOMAIN_BEFORE = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.){0,5}[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$",
    re.IGNORECASE,
)
_PATH_AFTER = re.compile(r"/[^\s<>\"']{0,2000}")
_PHONE_HINT = re.compile(r"(?:\+\s?\d|(?<!\d)0)(?:[\s().\-]{0,3}\d){8,13}")
_MAX_PHONE_WINDOWS = 20

# --- Complaint cues: (trigger words, pattern, weight). A cue's regex runs only when one of its
# trigger words is among the comment's words.

COMPLAINT_THRESHOLD = 3
_CUES: tuple[tuple[frozenset[str], str, int], ...] = tuple(
    (frozenset(triggers.split()), pattern, weight)
    for triggers, pattern, weight in (
        (
            "complain complaint complaints complained complaining complains",
            r"\bcomplain(?:t|ts|ed|ing|s)?\b",
            3,
        ),
        ("unacceptable", r"\b(?:totally |completely |absolutely )?unacceptable\b", 3),
        ("acceptable", r"\bnot acceptable\b", 3),
        ("disgrace disgraceful disgraced", r"\bdisgrace(?:ful|d)?\b", 3),
        (
            "nobody listens listened listening cares",
            r"\b(?:nobody|no one|no-one|noone)(?: ever| here| at the school)? "
            r"(?:listens|listened|is listening|cares|seems to care|replied|responds|responded)\b",
            3,
        ),
        (
            "speak talk",
            r"\bi(?:'d| would| want| wish| need| demand| will)(?: like)? to "
            r"(?:speak|talk) (?:to|with)\b",
            2,
        ),
        ("shouted yelled screamed", r"\b(?:shouted|yelled|screamed|shouting) at (?:my|our)\b", 3),
        (
            "bullying bullied",
            r"\bbull(?:ying|ied)\b.{0,40}\bnot (?:being |been )?(?:dealt with|sorted|stopped|"
            r"taken seriously)|\bnothing (?:is |was |has been )?(?:being )?done about "
            r"(?:the |this |my \w+'s )?bullying\b",
            3,
        ),
        ("bullying bullied", r"\b(?:is|was|being|been|keeps being) bullied\b", 2),
        (
            "ofsted",
            r"\b(?:going|go|went|report\w*|write|writing|wrote|contact\w*|tell\w*|call\w*) "
            r"(?:(?:you |this |the school |them )?to )?(?:the )?ofsted\b",
            3,
        ),
        ("appalling appalled", r"\bappall(?:ing|ed)\b", 3),
        ("shocking shocked", r"\bshock(?:ing|ed)\b", 2),
        ("disgusted disgusting", r"\bdisgust(?:ed|ing)\b", 2),
        ("furious fuming livid", r"\b(?:furious|fuming|livid)\b", 2),
        ("let", r"\blet (?:down|us down|my \w+ down|him down|her down|them down)\b", 2),
        ("ignored", r"\b(?:been |being |was |were |am |are |is )?ignored\b", 2),
        ("response reply", r"\bno (?:response|reply)\b", 2),
        ("still waiting", r"\bstill waiting\b", 2),
        ("enough", r"\bnot good enough\b", 2),
        ("pathetic ridiculous useless", r"\b(?:pathetic|ridiculous|useless)\b", 2),
        ("nobody told", r"\b(?:nobody|no one|no-one) (?:told|informed|asked) (?:us|me)\b", 2),
        ("rude", r"\b(?:very |so |extremely )?rude\b", 1),
        ("unfair unfairly", r"\bunfair(?:ly)?\b", 1),
        ("disappointed disappointing", r"\bdisappoint(?:ed|ing)\b", 1),
        ("upset angry", r"\b(?:upset|angry)\b", 1),
        ("terrible awful", r"\b(?:terrible|awful)\b", 1),
        ("again", r"\bagain[!?]", 1),
        ("nothing", r"\bthanks? (?:you )?for nothing\b", 3),
        (
            "thank thanks",
            r"\bthank(?:s| you)\b(?! for nothing)",
            -2,
        ),
        (
            "done brilliant lovely fantastic amazing wonderful proud enjoyed loved super",
            r"\b(?:well done|brilliant|lovely|fantastic|amazing|wonderful|proud|enjoyed|loved|"
            r"super)\b",
            -1,
        ),
    )
)
# Compiled without their leading \b (a pattern that starts with a literal is quick to search);
# the word boundary before a match is checked after.
_COMPILED_CUES = tuple(
    (triggers, re.compile(pattern.removeprefix(r"\b")), weight)
    for triggers, pattern, weight in _CUES
)
_CUE_TRIGGERS = frozenset().union(*(triggers for triggers, _, _ in _CUES))
_PRAISE_TRIGGERS = frozenset().union(*(triggers for triggers, _, w in _CUES if w < 0))
_CUES_BY_TRIGGER: dict[str, list[int]] = {}
for _number, (_triggers, _, _) in enumerate(_CUES):
    for _trigger in _triggers:
        _CUES_BY_TRIGGER.setdefault(_trigger, []).append(_number)
_PRAISE_FLOOR = -2


def _context(text: str, start: int, end: int, width: int = 40) -> str:
    left = max(0, start - width)
    right = min(len(text), end + width)
    shown = _shown(text[left:right], None)
    return ("…" if left else "") + shown + ("…" if right < len(text) else "")


def _shown(words: str, limit: int | None) -> str:
    """Words made safe to show: control characters as spaces, bidi and format characters gone."""
    if words.isprintable():
        shown = " ".join(words.split())
        return shown if limit is None or len(shown) <= limit else shown[: limit - 1] + "…"
    out = []
    for char in words:
        category = unicodedata.category(char)
        if category == "Cc":
            out.append(" ")
        elif category not in ("Cf", "Cs", "Co", "Cn"):
            out.append(char)
    shown = " ".join("".join(out).split())
    if limit is not None and len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return shown


def _person(person: RegisterName) -> str:
    return f"“{person.full}” ({person.where})" if person.where else f"“{person.full}”"


class Screener:
    """Screens comments against one school's register and word lists; build once, reuse."""

    def __init__(
        self,
        names: Sequence[RegisterName],
        banned: Iterable[str] = (),
        suspect: Iterable[str] = (),
        abusive: Iterable[str] | None = None,
    ) -> None:
        self._by_word: dict[str, list[_Entry]] = {}
        self._squeezed: dict[str, list[_Entry]] = {}
        lists = (
            (Rule.banned_word, banned),
            (Rule.abusive_word, DEFAULT_ABUSIVE if abusive is None else abusive),
            (Rule.suspect_word, suspect),
        )
        for rule, entries in lists:
            for entry in entries:
                words = tuple(fold(entry).split())
                if not words:
                    continue
                anchor = max(range(len(words)), key=lambda k: (len(words[k]), k))
                item = _Entry(rule, words, anchor, _runs(words[anchor]))
                self._by_word.setdefault(words[anchor], []).append(item)
                self._squeezed.setdefault(_squeeze(words[anchor]), []).append(item)
        self._first: dict[str, list[RegisterName]] = {}
        self._last: dict[str, list[RegisterName]] = {}
        self._last_parts: dict[RegisterName, tuple[str, ...]] = {}  # for fuzzy surnames
        self._last_keys: dict[int, list[str]] = {}
        class_words: set[str] = set()
        for person in names:
            first = fold(person.first).split()
            last = fold(person.last).split()
            self._last_parts[person] = tuple(last)
            if first:
                self._first.setdefault(first[0], []).append(person)
            for part in last:
                if len(part) > 1:
                    self._last.setdefault(part, []).append(person)
            if person.kind == "pupil":
                for piece in person.where.split(","):
                    piece = re.sub(r"(?i)\bclass\b", "", piece).strip()
                    if piece and not re.match(r"(?i)year\b", piece):
                        class_words.add(piece)
        self._class_cue = _class_cue(class_words)
        # Fuzzy candidates: names of five letters or more, bucketed by length (a word of length
        # n is compared with names of n-1, n and n+1 letters).
        by_length: dict[int, set[str]] = {}
        for key in (*self._first, *self._last):
            if len(key) >= 5 and key not in COMMON_WORDS:
                by_length.setdefault(len(key), set()).add(key)
        self._fuzzy_buckets: dict[int, list[str]] = {
            n: sorted(
                by_length.get(n - 1, set()) | by_length.get(n, set()) | by_length.get(n + 1, set())
            )
            for n in range(4, max(by_length, default=0) + 2)
        }
        for n, keys in by_length.items():
            self._last_keys[n] = sorted(k for k in keys if k in self._last)
        self._fuzzy_cache: dict[str, str | None] = {}
        self._capital_cache: dict[str, str | None] = {}
        self._name_keys = frozenset(self._first) | frozenset(self._last) | TITLES

    # --- the public call

    def screen(self, text: str) -> Screening:
        low = text.lower()
        if len(low) != len(text):
            low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        folded = (_BANG_NOT_IN_WORD.sub(" ", low) if "!" in low else low).translate(_FOLD)
        keys = _WORD.findall(folded)
        tidy = "'" in folded or any(c in folded for c in _ZERO_WIDTH)
        if tidy:
            keys = [_tidy(key)[0] for key in keys]
        words = _Words(text, folded, keys, tidy)
        flags: list[Flag] = []
        self._word_flags(words, low, flags)
        named: list[Flag] = []
        self._name_flags(words, named)
        self._data_flags(text, words.keyset, flags)
        # A name inside an email address or a link is that address's flag, not a second one.
        within = [(f.start, f.end) for f in flags if f.rule in (Rule.email_address, Rule.link)]
        flags.extend(flag for flag in named if not any(s <= flag.start < e for s, e in within))
        self._complaint_flags(text, low, words.keyset, flags)
        flags.sort(key=lambda f: (f.start, f.end, _RULE_ORDER[f.rule]))
        return Screening(text=text, flags=tuple(flags))

    # --- words

    def _word_flags(self, words: _Words, low: str, flags: list[Flag]) -> None:
        text, keys = words.text, words.keys
        hits: dict[tuple[int, int], _Entry] = {}
        exact = words.keyset & self._by_word.keys()
        # Repeated letters: each distinct word squeezed once, kept when that changed it and
        # the squeezed form is a list word's ("iiiidiot" → "idiot").
        distinct = list(words.keyset - COMMON_WORDS)
        squeezed = _squeeze(" ".join(distinct)).split(" ") if distinct else []
        repeated = {
            key: short
            for key, short in zip(distinct, squeezed, strict=True)
            if short != key and short in self._squeezed
        }
        if exact or repeated:
            for i, key in enumerate(keys):
                if key in exact:
                    self._take(words, i, key, self._by_word[key], hits)
                if key in repeated:
                    self._take(words, i, key, self._squeezed[repeated[key]], hits)
        if "1" in text:
            alt = _BANG_NOT_IN_WORD.sub(" ", low).translate(_FOLD_L)
            for i, (start, end) in enumerate(words.spans):
                if "1" in text[start:end]:
                    key = _tidy(alt[start:end])[0]
                    entries = self._squeezed.get(_squeeze(key))
                    if entries:
                        self._take(words, i, key, entries, hits)
        if _THREE_SINGLES.search(" " + " ".join(keys) + " "):
            for match in _SPACED.finditer(words.folded):
                self._joined(text, match, hits)
        for (start, end), entry in hits.items():
            matched = text[start:end]
            shown = _shown(matched, 60)
            listed = " ".join(entry.words)
            where = _LIST_NAMES[entry.rule]
            if " ".join(matched.lower().split()) == listed:
                why = f"“{shown}” is {where}."
            else:
                why = f"“{shown}” reads as “{listed}”, {where}."
            flags.append(
                Flag(
                    entry.rule,
                    entry.rule.severity,
                    start,
                    end,
                    matched,
                    _context(text, start, end),
                    why,
                )
            )

    @staticmethod
    def _take(
        words: _Words, i: int, key: str, entries: list[_Entry], hits: dict[tuple[int, int], _Entry]
    ) -> None:
        keys, spans, text = words.keys, words.spans, words.text
        runs = _runs(key)
        for entry in entries:
            if len(runs) != len(entry.runs) or any(
                have < need for have, need in zip(runs, entry.runs, strict=True)
            ):
                continue
            first = i - entry.anchor
            last = first + len(entry.words) - 1
            if first < 0 or last >= len(keys):
                continue
            if any(
                keys[first + k] != word for k, word in enumerate(entry.words) if k != entry.anchor
            ) or any(spans[k + 1][0] - spans[k][1] > 3 for k in range(first, last)):
                continue
            start, end = spans[first][0], spans[last][1]
            if not any(c.isalpha() for c in text[start:end]):
                continue
            held = hits.get((start, end))
            if held is None or _RULE_ORDER[entry.rule] < _RULE_ORDER[held.rule]:
                hits[(start, end)] = entry

    def _joined(self, text: str, match: re.Match[str], hits: dict[tuple[int, int], _Entry]) -> None:
        """Letters split by spaces, dots or dashes ("i d i o t"), read as one word."""
        start, end = match.span()
        if sum(c.isalpha() for c in text[start:end]) < 2:
            return
        key = "".join(c for c in match.group() if c.isalpha())
        runs = _runs(key)
        for entry in self._squeezed.get(_squeeze(key), ()):
            if len(entry.words) != 1 or len(runs) != len(entry.runs):
                continue
            if all(have >= need for have, need in zip(runs, entry.runs, strict=True)):
                held = hits.get((start, end))
                if held is None or _RULE_ORDER[entry.rule] < _RULE_ORDER[held.rule]:
                    hits[(start, end)] = entry

    # --- names

    def _name_flags(self, words: _Words, flags: list[Flag]) -> None:
        text, keys = words.text, words.keys
        # A name that is an ordinary word, or a title, counts only when written with a capital:
        # if it never is in this comment, the words' offsets are not needed for it.
        exact = {
            key
            for key in words.keyset & self._name_keys
            if (key not in COMMON_WORDS and key not in TITLES)
            or key.capitalize() in text
            or key.upper() in text
        }
        fuzzy = self._fuzzy_words(text, exact)
        if not exact and not fuzzy:
            return
        tokens = words.tokens
        first_index, last_index = self._first, self._last
        n = len(tokens)
        done = -1
        for i, key in enumerate(keys):
            if i <= done or (key not in exact and key not in fuzzy):
                continue
            if text[tokens[i].start : tokens[i].end].isdigit():
                continue  # "714" folds to "tia", and is no name
            hit: _NameHit | None = None
            if key in TITLES:
                if i + 1 < n and tokens[i + 1].start - tokens[i].end <= 2:
                    hit = self._after_title(text, tokens, i)
            elif key in first_index or key in last_index:
                hit = self._exact(text, tokens, i)
            elif text[tokens[i].start].isupper():
                hit = self._fuzzy(text, tokens, i)
            if hit is not None:
                flags.append(self._name_flag(text, tokens, hit))
                done = hit.last

    def _fuzzy_words(self, text: str, exact: set[str]) -> set[str]:
        """Capitalised words of four letters or more, not ordinary words, one edit from a name."""
        found: set[str] = set()
        seen = self._capital_cache
        for written in set(_CAPITAL.findall(text)):
            key = seen.get(written, "")
            if key == "":
                key = self._capital_key(written)
                if len(seen) < 50_000:
                    seen[written] = key
            if key is not None:
                found.add(key)
        return found

    def _capital_key(self, written: str) -> str | None:
        """The key of a capitalised word that is one edit from a name, else None."""
        if written.isupper():
            return None
        key = _tidy(written.lower().translate(_FOLD))[0]
        if key in COMMON_WORDS or key in self._name_keys:
            return None
        near = self._fuzzy_cache[key] if key in self._fuzzy_cache else self._nearest(key)
        return None if near is None else key

    def _nearest(self, key: str) -> str | None:
        bucket = self._fuzzy_buckets.get(len(key))
        found = (
            extractOne(key, bucket, scorer=Levenshtein.distance, score_cutoff=1) if bucket else None
        )
        near = found[0] if found else None
        if len(self._fuzzy_cache) < 50_000:
            self._fuzzy_cache[key] = near
        return near

    def _adjacent(self, text: str, tokens: list[_Token], i: int) -> bool:
        """Token i+1 follows token i with only spaces between (a full name)."""
        return (
            i + 1 < len(tokens)
            and 0 < tokens[i + 1].start - tokens[i].end <= 2
            and text[tokens[i].end : tokens[i + 1].start].isspace()
        )

    def _surname_of(
        self, text: str, tokens: list[_Token], j: int, people: Iterable[RegisterName]
    ) -> tuple[tuple[RegisterName, ...], bool]:
        """Which of `people` token j names by surname (one or two edits allowed)."""
        key = tokens[j].key
        parts = self._last_parts
        if key in self._last:
            named = {id(p) for p in self._last[key]}
            exact = tuple(p for p in people if id(p) in named)
            if exact:
                return exact, False
        if len(key) < 4 or not text[tokens[j].start].isupper():
            return (), False
        close = []
        for person in people:
            for part in parts[person]:
                allowed = 2 if len(part) >= 7 else 1 if len(part) >= 4 else 0
                if allowed and Levenshtein.distance(key, part, score_cutoff=allowed) <= allowed:
                    close.append(person)
                    break
        return tuple(close), bool(close)

    def _exact(self, text: str, tokens: list[_Token], i: int) -> _NameHit | None:
        key = tokens[i].key
        start = tokens[i].start
        capital = text[start].isupper()
        by_first = self._first.get(key, [])
        if by_first and self._adjacent(text, tokens, i) and (capital or key not in COMMON_WORDS):
            people, fuzzy = self._surname_of(text, tokens, i + 1, by_first)
            if people:
                return _NameHit(i, i + 1, people, "full", fuzzy)
        by_last = self._last.get(key, [])
        if not self._may_be_name(text, tokens, i, key):
            return None
        if by_first and by_last:
            people = tuple(by_first) + tuple(p for p in by_last if p not in by_first)
            return _NameHit(i, i, people, "first", False)
        if by_first:
            return _NameHit(i, i, tuple(by_first), "first", False)
        return _NameHit(i, i, tuple(by_last), "last", False)

    def _may_be_name(self, text: str, tokens: list[_Token], i: int, key: str) -> bool:
        start, end = tokens[i].start, tokens[i].end
        if key not in COMMON_WORDS:
            return True
        written = text[start:end]
        if not written[:1].isupper() or (len(written) > 1 and written.isupper()):
            return False
        if self._month(tokens, i, text):
            return False
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            following is not None
            and following.key in _NOT_A_NAME_AFTER
            and following.start - end <= 2
        ):
            return False
        if self._opens_cue_here(text, end):
            return True
        if not self._mid_sentence(text, start):
            return False
        # "the Summer Fair", "Holly Lodge": a capitalised phrase, not a name.
        return not (
            following is not None
            and self._adjacent(text, tokens, i)
            and text[following.start].isupper()
            and following.key not in self._last
        )

    def _opens_cue_here(self, text: str, end: int) -> bool:
        return _opens_cue(text, end) and self._class_cue.match(text, end) is not None

    @staticmethod
    def _mid_sentence(text: str, start: int) -> bool:
        k = start - 1
        while k >= 0 and text[k] in " \t":
            k -= 1
        return k >= 0 and text[k] not in _SENTENCE_START

    @staticmethod
    def _month(tokens: list[_Token], i: int, text: str) -> bool:
        if tokens[i].key not in MONTHS:
            return False
        before = text[max(0, tokens[i].start - 6) : tokens[i].start]
        after = text[tokens[i].end : tokens[i].end + 6]
        if re.search(r"\d(?:st|nd|rd|th)?\s*$", before) or re.match(r"\s*\d", after):
            return True
        return i > 0 and tokens[i - 1].key in _MONTH_BEFORE

    def _after_title(self, text: str, tokens: list[_Token], i: int) -> _NameHit | None:
        j = i + 1
        key = tokens[j].key
        if not text[tokens[j].start].isupper():
            return None
        by_first = self._first.get(key, [])
        if by_first and self._adjacent(text, tokens, j):
            people, fuzzy = self._surname_of(text, tokens, j + 1, by_first)
            if people:
                return _NameHit(i, j + 1, _staff_first(people), "full", fuzzy)
        people, fuzzy = self._surname_of(text, tokens, j, self._title_candidates(key))
        if people:
            return _NameHit(i, j, _staff_first(people), "title", fuzzy)
        staff = tuple(p for p in by_first if p.kind == "staff")
        if staff:
            return _NameHit(i, j, staff, "title", False)
        return None

    def _title_candidates(self, key: str) -> list[RegisterName]:
        exact = self._last.get(key)
        if exact:
            return exact
        if len(key) < 4:
            return []
        found: list[RegisterName] = []
        for n in (len(key) - 1, len(key), len(key) + 1):
            for candidate in self._last_keys.get(n, ()):
                if Levenshtein.distance(key, candidate, score_cutoff=1) <= 1:
                    found.extend(self._last[candidate])
        return found

    def _fuzzy(self, text: str, tokens: list[_Token], i: int) -> _NameHit | None:
        key = tokens[i].key
        near = self._fuzzy_cache[key] if key in self._fuzzy_cache else self._nearest(key)
        if near is None:
            return None
        by_first = self._first.get(near, [])
        if by_first and self._adjacent(text, tokens, i):
            people, _ = self._surname_of(text, tokens, i + 1, by_first)
            if people:
                return _NameHit(i, i + 1, people, "full", True)
        if by_first:
            return _NameHit(i, i, tuple(by_first), "first", True)
        return _NameHit(i, i, tuple(self._last.get(near, [])), "last", True)

    def _name_flag(self, text: str, tokens: list[_Token], hit: _NameHit) -> Flag:
        start, end = tokens[hit.first].start, tokens[hit.last].end
        matched = text[start:end]
        people = hit.people
        pupils = [p for p in people if p.kind == "pupil"]
        title = hit.part == "title" or tokens[hit.first].key in TITLES
        staff_first = title and any(p.kind == "staff" for p in people)
        rule = Rule.pupil_name if pupils and not staff_first else Rule.staff_name
        chosen = [p for p in people if (p.kind == "pupil") == (rule is Rule.pupil_name)]
        kind = "pupil" if rule is Rule.pupil_name else "member of staff"
        shown = _shown(matched, 60)
        if hit.part == "full" and len(chosen) == 1:
            what = f"the {kind} name {_person(chosen[0])}"
        elif len(chosen) == 1:
            part = {"first": "first name", "last": "surname"}.get(hit.part, "name")
            what = f"the {part} of the {kind} {_person(chosen[0])}"
        else:
            plural = "pupils" if kind == "pupil" else "members of staff"
            listed = "; ".join(_person(p) for p in chosen[:3])
            more = f" and {len(chosen) - 3} more" if len(chosen) > 3 else ""
            part = {"first": "first name", "last": "surname"}.get(hit.part, "name")
            what = f"the {part} of {len(chosen)} {plural} on the register ({listed}{more})"
        if hit.fuzzy:
            why = f"Looks like {what}, spelt “{shown}”."
        elif hit.part == "full" and len(chosen) == 1 and shown == chosen[0].full:
            why = f"Looks like {what}."
        else:
            why = f"Looks like {what}: “{shown}”."
        return Flag(rule, rule.severity, start, end, matched, _context(text, start, end), why)

    # --- personal data and links

    def _data_flags(self, text: str, keys: set[str], flags: list[Flag]) -> None:
        spans: list[tuple[int, int]] = []
        if "@" in text:
            for match in _EMAIL.finditer(text):
                if match.start() and text[match.start() - 1] in ".+-":
                    continue
                spans.append(match.span())
                flags.append(
                    self._flag(text, Rule.email_address, *match.span(), "an email address")
                )
        for start, end in _links(text):
            if any(s <= start < e for s, e in spans):
                continue
            spans.append((start, end))
            flags.append(self._flag(text, Rule.link, start, end, "a link to a website"))
        if _DIGIT.search(text) is None:
            return
        for match in _POSTCODE.finditer(text):
            # Found by its digits (quick to search), then read back to its area's letters.
            start = match.start()
            area = start
            while (
                area > max(0, start - 2) and text[area - 1].isascii() and text[area - 1].isalpha()
            ):
                area -= 1
            if (
                area == start
                or text[area:start].upper() not in _POSTCODE_AREAS
                or not _boundary_before(text, area, "")
                or any(s <= area < e for s, e in spans)
            ):
                continue
            flags.append(self._flag(text, Rule.postcode, area, match.end(), "a UK postcode"))
        if keys.isdisjoint(_STREET_KEYS):
            self._phone_flags(text, flags)
            return
        for match in _ADDRESS.finditer(text):
            if not _boundary_before(text, match.start(), "£$€.,:/") or _NOT_A_HOUSE.search(
                text[max(0, match.start() - 12) : match.start()].lower()
            ):
                continue
            flags.append(self._flag(text, Rule.street_address, *match.span(), "a street address"))
        self._phone_flags(text, flags)

    def _phone_flags(self, text: str, flags: list[Flag]) -> None:
        for count, hint in enumerate(_PHONE_HINT.finditer(text)):
            if count >= _MAX_PHONE_WINDOWS:
                break
            left = max(0, hint.start() - 4)
            window = text[left : hint.end() + 4]
            try:
                found = list(
                    phonenumbers.PhoneNumberMatcher(
                        window, "GB", leniency=phonenumbers.Leniency.POSSIBLE, max_tries=20
                    )
                )
            except Exception:  # a third-party parser never stops a screening
                found = []
            for number in found:
                raw = number.raw_string
                if not raw.startswith(("0", "+", "(0", "(+")):
                    continue
                if sum(c.isdigit() for c in raw) < 10:
                    continue
                start = left + number.start
                flags.append(
                    self._flag(text, Rule.phone_number, start, start + len(raw), "a phone number")
                )

    @staticmethod
    def _flag(text: str, rule: Rule, start: int, end: int, what: str) -> Flag:
        matched = text[start:end]
        return Flag(
            rule,
            rule.severity,
            start,
            end,
            matched,
            _context(text, start, end),
            f"Looks like {what}: “{_shown(matched, 60)}”.",
        )

    # --- complaints

    def _complaint_flags(self, text: str, low: str, keys: set[str], flags: list[Flag]) -> None:
        triggered = keys & _CUE_TRIGGERS
        if not triggered or triggered <= _PRAISE_TRIGGERS:
            return
        low = low.replace("’", "'")
        found: list[tuple[int, int, int]] = []
        praise = 0
        for number in sorted({n for word in triggered for n in _CUES_BY_TRIGGER[word]}):
            _, pattern, weight = _COMPILED_CUES[number]
            for match in pattern.finditer(low):
                if not _boundary_before(low, match.start(), ""):
                    continue
                if weight < 0:
                    praise += weight
                else:
                    found.append((match.start(), match.end(), weight))
        score = sum(weight for _, _, weight in found) + max(praise, _PRAISE_FLOOR)
        if score < COMPLAINT_THRESHOLD or not found:
            return
        cues = len(found)
        for start, end, _ in found:
            matched = text[start:end]
            flags.append(
                Flag(
                    Rule.complaint,
                    Severity.hold,
                    start,
                    end,
                    matched,
                    _context(text, start, end),
                    f"Reads like a complaint: “{_shown(matched, 60)}” "
                    f"(score {score} from {cues} cue{'s' if cues != 1 else ''}; "
                    f"{COMPLAINT_THRESHOLD} or more is held).",
                )
            )


_RULE_ORDER = {rule: n for n, rule in enumerate(Rule)}
_LIST_NAMES = {
    Rule.banned_word: "on the school's banned list, so the comment is refused",
    Rule.abusive_word: "on the built-in list of abusive words",
    Rule.suspect_word: "on the school's list of words to check",
}


def _links(text: str) -> list[tuple[int, int]]:
    """http(s)://... and www.... as written; a bare domain found by its top-level domain (a
    pattern that starts with "." is quick to search) and read back to its start."""
    found: list[tuple[int, int]] = []
    if "://" in text or "www." in text.lower():
        found.extend(match.span() for match in _URL.finditer(text))
    if "." in text:
        for match in _TLD.finditer(text):
            if any(s <= match.start() < e for s, e in found):
                continue
            domain = _DOMAIN_BEFORE.search(text, max(0, match.start() - 300), match.start())
            if domain is None or not _boundary_before(text, domain.start(), ".@-"):
                continue
            end = match.end()
            path = _PATH_AFTER.match(text, end)
            found.append((domain.start(), path.end() if path else end))
    links = []
    for start, end in sorted(found):
        while end > start and text[end - 1] in ".,;:!?)]}'\"":
            end -= 1
        if "." in text[start:end]:
            links.append((start, end))
    return links


def _boundary_before(text: str, start: int, also: str) -> bool:
    if start == 0:
        return True
    before = text[start - 1]
    return not (before.isalnum() or before == "_" or before in also)


def _staff_first(people: tuple[RegisterName, ...]) -> tuple[RegisterName, ...]:
    staff = tuple(p for p in people if p.kind == "staff")
    return staff or people


def register_names(session: Session) -> list[RegisterName]:
    """Pupils on roll (their preferred name, and their legal first name too when it differs) and
    active staff (first and last word of the name; a leading title dropped; roles as labels)."""
    names: list[RegisterName] = []
    pupils = session.scalars(
        select(Pupil).where(Pupil.on_roll.is_(True)).order_by(Pupil.legal_last_name, Pupil.id)  # type: ignore[attr-defined]
    )
    for pupil in pupils:
        where = f"{pupil.year_group}, {_class_label(pupil.class_name)}"
        names.append(RegisterName(pupil.first_name, pupil.legal_last_name, "pupil", where))
        if pupil.preferred_name and pupil.preferred_name != pupil.legal_first_name:
            names.append(
                RegisterName(pupil.legal_first_name, pupil.legal_last_name, "pupil", where)
            )
    staff = session.scalars(
        select(StaffUser)
        .where(StaffUser.is_active.is_(True))
        .order_by(StaffUser.name, StaffUser.id)  # type: ignore[attr-defined]
    )
    for user in staff:
        parts = user.name.split()
        if parts and parts[0].lower().rstrip(".") in _TITLE_WORDS:
            parts = parts[1:]
        if not parts:
            continue
        last = parts[-1] if len(parts) > 1 else ""
        names.append(RegisterName(parts[0], last, "staff", ", ".join(user.role_labels)))
    return names


def _class_label(class_name: str) -> str:
    name = class_name.strip()
    if name.lower().endswith("class"):
        return name
    if name.isalpha():
        return f"{name} class"
    return f"class {name}"
