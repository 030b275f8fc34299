"""The school's banned and suspect word lists, and the screener built from them and the register.

`screener_for(session)` is the one way the portal gets a `Screener`. Building one can be costly
(the full engine indexes every name and word), so it is kept per engine and rebuilt only when
what it was built from changes: the word lists' revision (raised by every change here), and a
fingerprint of the register (how many pupils on roll and staff, their largest ids and the total
length of their names), checked with one small query per call.
"""

from __future__ import annotations

import threading
import weakref

from sqlalchemy import Connection, Engine, func, select, update
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.consent.models import Pupil
from portal.db import now_of
from portal.history import Actor, record_event
from portal.moderation.models import ModerationSettings, ModerationWord, WordKind
from portal.moderation.screening import Screener, register_names
from portal.moderation.services.settings import settings_of

MAX_WORD = 100
WORD_ADDED_TAG = "moderation:word:added"
WORD_REMOVED_TAG = "moderation:word:removed"

_CACHE: weakref.WeakKeyDictionary[Engine, tuple[tuple[object, ...], Screener]] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()


class WordRefused(ValueError):
    """A word the list cannot take: `field` names the input, the message says what to do."""

    def __init__(self, message: str, field: str = "word") -> None:
        super().__init__(message)
        self.field = field


def words_of(session: Session, kind: WordKind) -> list[ModerationWord]:
    return list(
        session.scalars(
            select(ModerationWord)
            .where(ModerationWord.kind == kind.value)
            .order_by(ModerationWord.word)
        )
    )


def _bump(session: Session) -> None:
    settings_of(session)
    session.execute(
        update(ModerationSettings)
        .values(words_revision=ModerationSettings.words_revision + 1)
        .execution_options(synchronize_session=False)
    )


def add_word(session: Session, kind: WordKind, word: str, actor: Actor) -> ModerationWord:
    """Put a word or phrase on a list (kept in lower case; the same word twice is refused)."""
    cleaned = " ".join(word.split()).casefold()
    if not cleaned:
        raise WordRefused("Enter a word or phrase")
    if len(cleaned) > MAX_WORD:
        raise WordRefused(f"A word or phrase must be {MAX_WORD} characters or fewer")
    exists = session.scalar(
        select(ModerationWord).where(
            ModerationWord.kind == kind.value, ModerationWord.word == cleaned
        )
    )
    if exists is not None:
        raise WordRefused(f"“{cleaned}” is already on this list")
    row = ModerationWord(kind=kind.value, word=cleaned, added_at=now_of(session))
    session.add(row)
    session.flush()
    _bump(session)
    record_event(
        session,
        subject_type="moderation-words",
        subject_id=kind.value,
        tag=WORD_ADDED_TAG,
        actor=actor,
        to_value=cleaned,
    )
    return row


def remove_word(session: Session, word_id: int, actor: Actor) -> ModerationWord | None:
    row = session.get(ModerationWord, word_id)
    if row is None:
        return None
    session.delete(row)
    session.flush()
    _bump(session)
    record_event(
        session,
        subject_type="moderation-words",
        subject_id=row.kind,
        tag=WORD_REMOVED_TAG,
        actor=actor,
        from_value=row.word,
    )
    return row


def _register_key(session: Session) -> tuple[object, ...]:
    pupils = session.execute(
        select(
            func.count(Pupil.id),
            func.max(Pupil.id),
            func.sum(
                func.length(Pupil.legal_first_name)
                + func.length(Pupil.preferred_name) * 7
                + func.length(Pupil.legal_last_name) * 3
            ),
        ).where(Pupil.on_roll)
    ).one()
    staff = session.execute(
        select(
            func.count(StaffUser.id), func.max(StaffUser.id), func.sum(func.length(StaffUser.name))
        )
    ).one()
    return (*pupils, *staff)


def screener_for(session: Session) -> Screener:
    """The screener for this school's register and lists, rebuilt only when they change."""
    bind = session.get_bind()
    where = bind.engine if isinstance(bind, Connection) else bind
    settings = settings_of(session)
    session.refresh(settings)
    key = (settings.words_revision, _register_key(session))
    with _LOCK:
        cached = _CACHE.get(where)
        if cached is not None and cached[0] == key:
            return cached[1]
    screener = Screener(
        register_names(session),
        banned=[row.word for row in words_of(session, WordKind.banned)],
        suspect=[row.word for row in words_of(session, WordKind.suspect)],
    )
    with _LOCK:
        _CACHE[where] = (key, screener)
    return screener
