"""Sending, listing and reporting comments: the rules the parents' pages ask.

Only approved comments are ever listed or counted for anyone but moderators
(`public_comments`, `public_count`); a comment's author is told what happened to theirs by
email, and nobody else hears of a pending one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from portal.channel.models import Post
from portal.channel.services.posts import is_public
from portal.db import now_of
from portal.history import Actor, record_event
from portal.moderation.models import (
    Comment,
    Commenter,
    CommentFlag,
    CommentReport,
    CommentStatus,
)
from portal.moderation.screening import Screening
from portal.moderation.services.commenters import (
    MAX_DISPLAY_NAME,
    Identity,
    commenter_for_contact,
)
from portal.moderation.services.settings import settings_of
from portal.moderation.services.words import screener_for

MAX_BODY = 2000
MAX_REPORT = 1000
SENT_TAG = "comment:sent"
REFUSED_TAG = "comment:refused"
REPORTED_TAG = "comment:reported"
HIDDEN_TAG = "comment:hidden"


class CommentRefused(Exception):
    """The comment cannot be taken: `field` names the input, the message says what to do."""

    def __init__(self, message: str, field: str = "body") -> None:
        super().__init__(message)
        self.field = field


class Outcome(enum.StrEnum):
    held = "held"  # kept, waiting for a moderator
    refused = "refused"  # a banned word: recorded as rejected, the parent told why
    offer_complaint = "offer_complaint"  # reads like a complaint: nothing kept yet


@dataclass(frozen=True)
class Sent:
    outcome: Outcome
    screening: Screening
    comment: Comment | None = None

    @property
    def reason(self) -> str:
        return self.screening.rejection_reason() or ""


def check_words(body: str, display_name: str) -> dict[str, str]:
    """What to fix in the comment form, field by field (empty when nothing)."""
    errors: dict[str, str] = {}
    if not body.strip():
        errors["body"] = "Enter your comment"
    elif len(body) > MAX_BODY:
        errors["body"] = f"Your comment must be {MAX_BODY:,} characters or fewer"
    name = display_name.strip()
    if not name:
        errors["display_name"] = "Enter the name to show beside your comment"
    elif len(name) > MAX_DISPLAY_NAME:
        errors["display_name"] = f"The name must be {MAX_DISPLAY_NAME} characters or fewer"
    elif "@" in name:
        errors["display_name"] = "Enter a name, not an email address"
    return errors


def save_flags(
    session: Session,
    screening: Screening,
    *,
    comment_id: int | None = None,
    external_id: int | None = None,
    queued_at: datetime | None = None,
) -> None:
    """Keep what screening found now, so the moderator later sees why, whatever the rules
    have become since. `queued_at`: the comment's, when it goes into the queue."""
    for flag in screening.flags:
        session.add(
            CommentFlag(
                comment_id=comment_id,
                external_id=external_id,
                queued_at=queued_at,
                rule=flag.rule.value,
                severity=flag.severity.value,
                start=flag.start,
                end=flag.end,
                matched=flag.matched[:1000],
                context=flag.context[:2000],
                explanation=flag.explanation[:2000],
            )
        )


def queue_flags(session: Session, comment_id: int) -> None:
    """Give a comment's flags its `queued_at` once it is back in the queue (after the
    comment's own update, which holds its row until the transaction ends)."""
    session.execute(
        update(CommentFlag)
        .where(CommentFlag.comment_id == comment_id)
        .values(
            queued_at=select(Comment.queued_at)
            .where(Comment.id == comment_id, Comment.queued.is_(True))  # type: ignore[attr-defined]
            .scalar_subquery()
        )
        .execution_options(synchronize_session=False)
    )


def unqueue_flags(session: Session, comment_id: int) -> None:
    """Take a decided comment's flags out of the rule-filtered queue."""
    session.execute(
        update(CommentFlag)
        .where(CommentFlag.comment_id == comment_id, CommentFlag.queued_at.is_not(None))  # type: ignore[union-attr]
        .values(queued_at=None)
        .execution_options(synchronize_session=False)
    )


def send_comment(
    session: Session,
    post: Post,
    who: Identity,
    body: str,
    display_name: str,
    *,
    post_anyway: bool = False,
) -> Sent:
    """Screen a comment and keep it for a moderator; refuse it at once for a banned word
    (recorded as rejected, with the reason); or, when it reads like a complaint and the parent
    has not yet chosen to post it anyway, keep nothing and say so (the page offers the form)."""
    now = now_of(session)
    if not is_public(post, now) or not post.comments_open:
        raise CommentRefused("Comments on this post are closed")
    errors = check_words(body, display_name)
    if errors:
        field, message = next(iter(errors.items()))
        raise CommentRefused(message, field)
    commenter = who.commenter
    if commenter is None and who.contact is not None:
        commenter = commenter_for_contact(session, who.contact)
    if commenter is None:
        raise CommentRefused("Confirm your email address before commenting", "email")
    if commenter.blocked:
        raise CommentRefused(
            "You cannot comment on the school's news. If you think this is a mistake, phone "
            "the school office."
        )
    screening = screener_for(session).screen(body)
    if not screening.rejected and screening.complaint_like and not post_anyway:
        return Sent(Outcome.offer_complaint, screening)
    name = display_name.strip()
    comment = Comment(
        post_id=post.id,
        commenter_id=commenter.id,
        display_name=name,
        body=body,
        status=CommentStatus.rejected.value if screening.rejected else CommentStatus.pending.value,
        queued=not screening.rejected,
        queued_at=None if screening.rejected else now,
        on_register=who.on_register,
        posted_anyway=post_anyway and screening.complaint_like,
        created_at=now,
        decided_at=now if screening.rejected else None,
        decision_reason=screening.rejection_reason() or "",
    )
    session.add(comment)
    session.flush()
    save_flags(session, screening, comment_id=comment.id, queued_at=comment.queued_at)
    if commenter.display_name != name:
        commenter.display_name = name
        session.add(commenter)
    record_event(
        session,
        subject_type="comment",
        subject_id=comment.id,
        tag=REFUSED_TAG if screening.rejected else SENT_TAG,
        actor=Actor.parent(name),
        to_value=comment.status,
        detail={
            "rules": [rule.value for rule in screening.held_for],
            "reason": comment.decision_reason,
        },
    )
    outcome = Outcome.refused if screening.rejected else Outcome.held
    return Sent(outcome, screening, comment)


@dataclass(frozen=True)
class ShownComment:
    id: int
    display_name: str
    body: str
    created_at: object


def public_comments(session: Session, post_id: int, limit: int = 1000) -> list[ShownComment]:
    """The post's approved comments, oldest first: the only comments anyone but a moderator
    sees."""
    rows = session.execute(
        select(Comment.id, Comment.display_name, Comment.body, Comment.created_at)
        .where(Comment.post_id == post_id, Comment.status == CommentStatus.approved.value)
        .order_by(Comment.created_at, Comment.id)
        .limit(limit)
    )
    return [ShownComment(*row) for row in rows]


def public_count(session: Session, post_id: int) -> int:
    """How many comments a post shows ("3 comments"): approved ones only."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(Comment.post_id == post_id, Comment.status == CommentStatus.approved.value)
        )
        or 0
    )


def public_comment(session: Session, post: Post, comment_id: int) -> Comment | None:
    """A published comment on a public post, or None (the report page's only way to a row)."""
    comment = session.get(Comment, comment_id)
    if (
        comment is None
        or comment.post_id != post.id
        or comment.status != CommentStatus.approved.value
        or not is_public(post, now_of(session))
    ):
        return None
    return comment


def report(session: Session, comment: Comment, reporter: Commenter, reason: str) -> bool:
    """A parent reports a published comment: it goes back to the queue with the report, and
    is hidden once it has the settings' number of reports. False when this person had already
    reported it (counted once)."""
    reason = reason.strip()
    if not reason:
        raise CommentRefused("Say what is wrong with this comment", "reason")
    if len(reason) > MAX_REPORT:
        raise CommentRefused(f"Your reason must be {MAX_REPORT:,} characters or fewer", "reason")
    now = now_of(session)
    try:
        with session.begin_nested():
            session.add(
                CommentReport(
                    comment_id=comment.id,
                    commenter_id=reporter.id,
                    reason=reason,
                    created_at=now,
                )
            )
    except IntegrityError:
        return False
    session.execute(
        update(Comment)
        .where(Comment.id == comment.id)
        .values(
            report_count=Comment.report_count + 1,
            queued=True,
            queued_at=func.coalesce(Comment.queued_at, now),
        )
        .execution_options(synchronize_session=False)
    )
    queue_flags(session, comment.id)
    record_event(
        session,
        subject_type="comment",
        subject_id=comment.id,
        tag=REPORTED_TAG,
        actor=Actor.parent(reporter.display_name or "Parent or carer"),
        detail={"reason": reason},
    )
    threshold = max(settings_of(session).reports_to_hide, 1)
    hidden = session.execute(
        update(Comment)
        .where(
            Comment.id == comment.id,
            Comment.status == CommentStatus.approved.value,
            Comment.report_count >= threshold,
        )
        .values(status=CommentStatus.hidden.value)
        .execution_options(synchronize_session=False)
    ).rowcount
    if hidden:
        record_event(
            session,
            subject_type="comment",
            subject_id=comment.id,
            tag=HIDDEN_TAG,
            actor=Actor.system(),
            from_value=CommentStatus.approved.value,
            to_value=CommentStatus.hidden.value,
            detail={"reports": threshold},
        )
    session.refresh(comment)
    return True


def reports_of(session: Session, comment_id: int) -> list[CommentReport]:
    return list(
        session.scalars(
            select(CommentReport)
            .where(CommentReport.comment_id == comment_id)
            .order_by(CommentReport.id)
        )
    )
