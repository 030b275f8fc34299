"""The settings stamp: what a process worked out from the school's settings, kept between requests.

Every page needs the school profile, most need its term dates, every email its wording: three
reads per request that almost never change. `school_profile.settings_stamp` is a random value
that every transaction which writes any of those tables gives anew when it commits. A request
reads the stamp (one short row) and takes the profile, the calendar and the wording that this
process worked out under that stamp, or reads them and keeps them under it. A change committed
by any worker has a new stamp, so every worker's next request reads the new settings: no restart,
no signal between processes, nothing to expire.

The rules that make it safe, whoever writes:
- Any write to a settings table through a session (the unit of work, or an ORM `update`/`delete`
  statement) marks the session at once (`wrote_settings`); at commit the session gives the
  profile a new stamp in the same transaction. A rolled-back change leaves the old stamp, and
  its values were never kept (next rule).
- A session that has written settings never keeps what it reads: its own uncommitted values stay
  its own (its per-session copies are forgotten by the services that change them).
- Stamps are random, never counted, so no two states of the settings can share one.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from typing import Any

from sqlalchemy import event, text, update
from sqlalchemy.orm import ORMExecuteState, SessionTransaction, UOWTransaction
from sqlmodel import Session

from portal.school.models import SchoolProfile

# The tables whose rows are the school's settings (names, so that no domain is imported here).
SETTINGS_TABLES = frozenset({"school_profile", "school_term", "school_closure", "wording_override"})
# Every `session.info` key under this prefix lasts one transaction: the stamp, whether the
# session wrote settings, and the services' own copies (the school, its calendar, its wording).
PER_TRANSACTION = "portal.settings."
_WROTE = PER_TRANSACTION + "wrote"
_STAMP = PER_TRANSACTION + "stamp"
_KEEP = 64  # stamps (kinds of value times schools) a process remembers
_READ_STAMP = text("SELECT settings_stamp FROM school_profile ORDER BY id LIMIT 1")


class _Kept:
    """Values by (kind, stamp), the oldest forgotten first. Shared by the process's threads."""

    def __init__(self) -> None:
        self._values: OrderedDict[tuple[str, str], Any] = OrderedDict()

    def get(self, kind: str, stamp: str) -> Any:
        return self._values.get((kind, stamp))

    def put(self, kind: str, stamp: str, value: Any) -> None:
        self._values[(kind, stamp)] = value
        while len(self._values) > _KEEP:
            self._values.popitem(last=False)

    def clear(self) -> None:
        self._values.clear()


KEPT = _Kept()


def wrote_settings(session: Session) -> bool:
    return bool(session.info.get(_WROTE))


def settings_stamp(session: Session) -> str | None:
    """The stamp of the settings this session sees, or None when it must read them afresh
    (it has written settings itself, or there is no school yet). Read once per session."""
    if wrote_settings(session):
        return None
    if _STAMP not in session.info:
        # Plain SQL: the one statement every request makes, so none of the ORM's work.
        session.info[_STAMP] = session.execute(_READ_STAMP).scalar()
    return session.info[_STAMP]


def kept(session: Session, kind: str) -> Any:
    """What this process worked out as `kind` under the session's stamp, or None."""
    stamp = settings_stamp(session)
    return None if stamp is None else KEPT.get(kind, stamp)


def keep(session: Session, kind: str, value: Any) -> None:
    """Remember `value` under the session's stamp (not when the session wrote settings)."""
    stamp = settings_stamp(session)
    if stamp is not None:
        KEPT.put(kind, stamp, value)


def _mark(session: Session) -> None:
    session.info[_WROTE] = True
    session.info.pop(_STAMP, None)


@event.listens_for(Session, "do_orm_execute")
def _statement_writes(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.bind_mapper, "local_table", None) if state.bind_mapper else None
    if table is not None and table.name in SETTINGS_TABLES:
        _mark(state.session)  # type: ignore[arg-type]


@event.listens_for(Session, "before_flush")
def _flush_writes(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    for row in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(row), "__table__", None)
        if table is not None and table.name in SETTINGS_TABLES:
            _mark(session)
            return


@event.listens_for(Session, "before_commit")
def _new_stamp(session: Session) -> None:
    """At the commit of the session's own transaction (not of a savepoint inside it), after its
    last flush (SQLAlchemy calls this hook before flushing what is pending)."""
    if session.in_nested_transaction():
        return
    session.flush()
    if wrote_settings(session):
        session.execute(update(SchoolProfile).values(settings_stamp=secrets.token_hex(16)))


@event.listens_for(Session, "after_transaction_end")
def _written(session: Session, transaction: SessionTransaction) -> None:
    """The session's transaction is over (committed or rolled back; a savepoint inside it does
    not count): the next one starts clean, reads the stamp again and sees what others changed."""
    if transaction.parent is None:
        for key in [key for key in session.info if str(key).startswith(PER_TRANSACTION)]:
            del session.info[key]
