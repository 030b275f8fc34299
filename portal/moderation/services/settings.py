"""The moderation settings (admins): who may comment and how many reports hide a comment."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlmodel import Session

from portal.accounts.models import Role
from portal.history import Actor, HistoryEvent, record_event
from portal.moderation.models import ModerationSettings, WhoMayComment

SETTINGS_ROLES = (Role.admin,)
SETTINGS_TAG = "moderation:settings"
MIN_REPORTS = 1
MAX_REPORTS = 50


class SettingsChanged(Exception):
    """Another admin saved the settings since this page was shown."""


@dataclass(frozen=True)
class ModerationChoice:
    who_may_comment: WhoMayComment
    reports_to_hide: int


def settings_of(session: Session) -> ModerationSettings:
    """The one settings row (made by the migration; made again here if it is missing)."""
    row = session.scalar(select(ModerationSettings).order_by(ModerationSettings.id).limit(1))
    if row is None:
        row = ModerationSettings()
        session.add(row)
        session.flush()
    return row


def who_may_comment(session: Session) -> WhoMayComment:
    value = settings_of(session).who_may_comment
    return WhoMayComment(value) if value in WhoMayComment.__members__ else WhoMayComment.register


def change(session: Session, choice: ModerationChoice, seen_revision: int, actor: Actor) -> None:
    """Save both settings with a conditional update on the revision the admin saw; one history
    event per setting that changed."""
    row = settings_of(session)
    before = (row.who_may_comment, row.reports_to_hide)
    changed = session.execute(
        update(ModerationSettings)
        .where(ModerationSettings.id == row.id, ModerationSettings.revision == seen_revision)
        .values(
            who_may_comment=choice.who_may_comment.value,
            reports_to_hide=choice.reports_to_hide,
            revision=ModerationSettings.revision + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise SettingsChanged()
    session.refresh(row)
    for field, old, new in (
        ("who_may_comment", before[0], choice.who_may_comment.value),
        ("reports_to_hide", before[1], choice.reports_to_hide),
    ):
        if old != new:
            record_event(
                session,
                subject_type="moderation-settings",
                subject_id=row.id,
                tag=SETTINGS_TAG,
                actor=actor,
                from_value=str(old),
                to_value=str(new),
                detail={"field": field},
            )


def changes(session: Session, limit: int = 20) -> list[HistoryEvent]:
    return list(
        session.scalars(
            select(HistoryEvent)
            .where(HistoryEvent.subject_type == "moderation-settings")
            .order_by(HistoryEvent.id.desc())  # type: ignore[union-attr]
            .limit(limit)
        )
    )
