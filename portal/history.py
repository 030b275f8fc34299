"""The append-only event log that every domain object writes to.

One mechanism for all domains: who did what, when, and from what to what. The database itself
keeps the log append-only (triggers from migrations 0001 and 0004h, on SQLite and PostgreSQL):

- an UPDATE is always refused;
- a DELETE is refused unless the transaction holds the purge permit (`history_purge_permitted`),
  which only `purge_case_history` takes, adding in the same transaction a "history:purged" event
  that says what went, who did it and why; TRUNCATE (PostgreSQL) is always refused;
- an INSERT dated more than `BACKDATE_TOLERANCE` before the newest event is refused, unless the
  transaction holds the import permit (`history_import_permitted`), which only loading made-up or
  imported records (`portal seed`) takes.

On PostgreSQL a permit is a transaction-local setting (`SET LOCAL portal.allow_history_purge`) that
the trigger honours only for the table's owner (the account that runs `portal migrate`); the web
app's least-privilege role (docs/operations.md) has no DELETE on the table and cannot use it. On
SQLite a permit is a row in `history_permit`, added and removed inside the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, DateTime, Index, String, Text, delete, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlmodel import Field, Session

from portal.clock import clock_of
from portal.rows import Row

PURGED_TAG = "history:purged"
# How far before the newest event a new one may be dated: transactions commit in a different order
# than they were stamped, and app servers' clocks differ by a little. The migration holds the same
# number (0004h); changing it needs a new migration.
BACKDATE_TOLERANCE = timedelta(minutes=5)
PURGE_REASON_MAX_CHARS = 500
_PERMITS = {"purge": "portal.allow_history_purge", "import": "portal.allow_history_import"}


class HistoryEvent(Row, table=True):
    __tablename__ = "history_event"
    __table_args__ = (
        Index("ix_history_event_subject", "subject_type", "subject_id", "id"),
        # The back-dating trigger reads max(occurred_at) on every insert.
        Index("ix_history_event_occurred_at", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subject_type: str = Field(sa_column=Column(String(40), nullable=False))
    subject_id: str = Field(sa_column=Column(String(40), nullable=False))
    tag: str = Field(sa_column=Column(String(80), nullable=False))
    actor_type: str = Field(sa_column=Column(String(16), nullable=False))
    actor_user_id: int | None = Field(default=None, foreign_key="staff_user.id")
    actor_label: str = Field(sa_column=Column(String(200), nullable=False))
    occurred_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    from_value: str | None = Field(default=None, sa_column=Column(String(200)))
    to_value: str | None = Field(default=None, sa_column=Column(String(200)))
    detail: str | None = Field(default=None, sa_column=Column(Text))

    @property
    def details(self) -> dict[str, Any]:
        return json.loads(self.detail) if self.detail else {}


class Actor:
    """Who did something: a member of staff, a parent (no account) or the portal itself."""

    def __init__(self, kind: str, label: str, user_id: int | None = None) -> None:
        self.kind = kind
        self.label = label
        self.user_id = user_id

    @classmethod
    def staff(cls, user: Any) -> Actor:
        return cls("staff", user.name, user.id)

    @classmethod
    def parent(cls, label: str = "Parent or carer") -> Actor:
        return cls("parent", label)

    @classmethod
    def system(cls) -> Actor:
        return cls("system", "The portal")


_INSERT_EVENT = HistoryEvent.__table__.insert()  # type: ignore[attr-defined]  # built once


def record_event(
    session: Session,
    *,
    subject_type: str,
    subject_id: object,
    tag: str,
    actor: Actor,
    from_value: str | None = None,
    to_value: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add the event to the caller's transaction: it exists exactly when the change does.

    Written at once, as a plain INSERT on the session's connection: every event goes in when it is
    recorded, so their ids keep the order things happened in. Building an ORM object and flushing
    it cost about a tenth of a parent's final "Send" (docs/performance.md, "The rush a fifth
    time"); nothing reads the event back in the same request."""
    session.connection().execute(
        _INSERT_EVENT,
        {
            "subject_type": subject_type,
            "subject_id": str(subject_id),
            "tag": tag,
            "actor_type": actor.kind,
            "actor_user_id": actor.user_id,
            "actor_label": actor.label,
            "occurred_at": clock_of(session).now(),
            "from_value": from_value,
            "to_value": to_value,
            "detail": json.dumps(detail, default=str) if detail else None,
        },
    )


def history_of(session: Session, subject_type: str, subject_id: object) -> list[HistoryEvent]:
    statement = (
        select(HistoryEvent)
        .where(HistoryEvent.subject_type == subject_type)
        .where(HistoryEvent.subject_id == str(subject_id))
        .order_by(HistoryEvent.id)
    )
    return list(session.scalars(statement))


@contextmanager
def history_purge_permitted(bind: Session | Connection) -> Iterator[None]:
    """Inside this block the current transaction may DELETE history rows.

    For `purge_case_history` and the test suite's teardown only. The permit ends when the block
    does (and at the latest when the transaction ends, committed or rolled back).
    """
    with _permit(bind, "purge"):
        yield


@contextmanager
def history_import_permitted(bind: Session | Connection) -> Iterator[None]:
    """Inside this block the current transaction may INSERT events dated in the past.

    For loading made-up or imported records (`portal seed`), never for the portal's own events.
    """
    with _permit(bind, "import"):
        yield


@contextmanager
def _permit(bind: Session | Connection, kind: str) -> Iterator[None]:
    connection = bind.connection() if isinstance(bind, Session) else bind
    if connection.dialect.name == "postgresql":
        setting = _PERMITS[kind]
        connection.execute(text("SELECT set_config(:name, 'on', true)"), {"name": setting})
        revoke = text("SELECT set_config(:name, 'off', true)").bindparams(name=setting)
    else:
        connection.execute(text("INSERT INTO history_permit (kind) VALUES (:kind)"), {"kind": kind})
        revoke = text("DELETE FROM history_permit WHERE kind = :kind").bindparams(kind=kind)
    try:
        yield
    finally:
        # If the transaction failed inside the block, its rollback ends the permit anyway.
        with suppress(DBAPIError):
            connection.execute(revoke)


def purge_case_history(session: Session, complaint_id: int, actor: Actor, reason: str) -> int:
    """Delete a case's history at the end of its retention period; returns how many rows went.

    The purge is itself history: a "history:purged" event on the case (how many rows, the oldest
    and newest dates, who and why) is added in the same transaction, so the rows go if and only if
    the record of their going stays; purge records are never purged. The caller commits.
    Refuses an empty reason.
    """
    reason = " ".join(reason.split())
    if not reason:
        raise ValueError("give the reason for purging the case's history")
    if len(reason) > PURGE_REASON_MAX_CHARS:
        raise ValueError(f"the reason is longer than {PURGE_REASON_MAX_CHARS} characters")
    subject_id = str(int(complaint_id))
    purgeable = (
        (HistoryEvent.subject_type == "complaint")
        & (HistoryEvent.subject_id == subject_id)
        & (HistoryEvent.tag != PURGED_TAG)
    )
    session.flush()
    oldest, newest = session.execute(
        select(func.min(HistoryEvent.occurred_at), func.max(HistoryEvent.occurred_at)).where(
            purgeable
        )
    ).one()
    with history_purge_permitted(session):
        deleted = session.execute(
            delete(HistoryEvent).where(purgeable).execution_options(synchronize_session=False)
        ).rowcount
    record_event(
        session,
        subject_type="complaint",
        subject_id=subject_id,
        tag=PURGED_TAG,
        actor=actor,
        to_value=str(deleted),
        detail={"rows": deleted, "reason": reason, "oldest": oldest, "newest": newest},
    )
    session.flush()
    return deleted
