"""The append-only event log that every domain object writes to.

One mechanism for all domains: who did what, when, and from what to what. Rows are never changed
(a database trigger refuses updates); the only removal is the retention purge of a whole case.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, String, Text, select
from sqlmodel import Field, Session, SQLModel


class HistoryEvent(SQLModel, table=True):
    __tablename__ = "history_event"
    __table_args__ = (Index("ix_history_event_subject", "subject_type", "subject_id", "id"),)

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
) -> HistoryEvent:
    """Add the event to the caller's transaction: it exists exactly when the change does."""
    event = HistoryEvent(
        subject_type=subject_type,
        subject_id=str(subject_id),
        tag=tag,
        actor_type=actor.kind,
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        from_value=from_value,
        to_value=to_value,
        detail=json.dumps(detail, default=str) if detail else None,
    )
    session.add(event)
    return event


def history_of(session: Session, subject_type: str, subject_id: object) -> list[HistoryEvent]:
    statement = (
        select(HistoryEvent)
        .where(HistoryEvent.subject_type == subject_type)
        .where(HistoryEvent.subject_id == str(subject_id))
        .order_by(HistoryEvent.id)
    )
    return list(session.scalars(statement))
