"""Comments seen on the school's social media pages, recorded by moderators and screened the same
way, so the school's record of what parents post is complete."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from portal.db import now_of
from portal.history import Actor, record_event
from portal.moderation.models import CommentFlag, ExternalAction, ExternalChannel, ExternalComment
from portal.moderation.screening import Screening
from portal.moderation.services.comments import MAX_BODY, save_flags
from portal.moderation.services.words import screener_for

MAX_LINK = 500
MAX_AUTHOR = 200
RECORDED_TAG = "external-comment:recorded"


@dataclass(frozen=True)
class NewExternal:
    channel: ExternalChannel
    link: str
    author: str
    body: str
    action: ExternalAction


def check(channel: str, link: str, author: str, body: str, action: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if channel not in ExternalChannel.__members__:
        errors["channel"] = "Choose where the comment was posted"
    if link.strip() and not link.strip().lower().startswith(("https://", "http://")):
        errors["link"] = "Enter the link as it appears in the browser, starting https://"
    elif len(link.strip()) > MAX_LINK:
        errors["link"] = f"The link must be {MAX_LINK} characters or fewer"
    if len(author.strip()) > MAX_AUTHOR:
        errors["author"] = f"The name must be {MAX_AUTHOR} characters or fewer"
    if not body.strip():
        errors["body"] = "Enter the comment's words"
    elif len(body) > MAX_BODY:
        errors["body"] = f"The comment must be {MAX_BODY:,} characters or fewer"
    if action not in ExternalAction.__members__:
        errors["action"] = "Choose what was done on that site"
    return errors


def record(
    session: Session, new: NewExternal, moderator: object
) -> tuple[ExternalComment, Screening]:
    screening = screener_for(session).screen(new.body)
    row = ExternalComment(
        channel=new.channel.value,
        link=new.link.strip(),
        author=new.author.strip(),
        body=new.body,
        action=new.action.value,
        noted_at=now_of(session),
        noted_by_id=getattr(moderator, "id", 0),
    )
    session.add(row)
    session.flush()
    save_flags(session, screening, external_id=row.id)
    record_event(
        session,
        subject_type="external-comment",
        subject_id=row.id,
        tag=RECORDED_TAG,
        actor=Actor.staff(moderator),
        detail={"channel": row.channel, "action": row.action},
    )
    return row, screening


def recorded(session: Session, limit: int = 50) -> list[tuple[ExternalComment, list[CommentFlag]]]:
    rows = list(
        session.scalars(
            select(ExternalComment)
            .order_by(ExternalComment.noted_at.desc(), ExternalComment.id.desc())
            .limit(limit)  # type: ignore[attr-defined]
        )
    )
    ids = [row.id for row in rows]
    flags: dict[int, list[CommentFlag]] = {i: [] for i in ids if i is not None}
    if ids:
        for flag in session.scalars(
            select(CommentFlag).where(CommentFlag.external_id.in_(ids)).order_by(CommentFlag.start)  # type: ignore[union-attr]
        ):
            flags[flag.external_id or 0].append(flag)
    return [(row, flags.get(row.id or 0, [])) for row in rows]
