"""Comments on the school's news, who wrote them, why screening held them, and what staff decided.

A comment is public only while its `status` is `approved`; every other state is seen by its author
and the moderators alone. `queued` puts a comment in the moderation queue (a new one, one reported
by parents, one hidden after reports); every decision takes it out with a conditional update.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlmodel import Field

from portal.rows import Row


class CommentStatus(enum.StrEnum):
    pending = "pending"  # waiting for a moderator; only its author knows it exists
    approved = "approved"  # public (approved as written, or with a redaction)
    rejected = "rejected"  # refused by a moderator, or at once for a banned word
    referred = "referred"  # sent to the complaints procedure; never published
    hidden = "hidden"  # was public, hidden after parents' reports until a moderator decides

    @property
    def label(self) -> str:
        return {
            CommentStatus.pending: "Waiting for a moderator",
            CommentStatus.approved: "Published",
            CommentStatus.rejected: "Rejected",
            CommentStatus.referred: "Sent to the complaints procedure",
            CommentStatus.hidden: "Hidden after reports",
        }[self]


class WhoMayComment(enum.StrEnum):
    register = "register"  # parents and carers on the pupil register (the default)
    anyone = "anyone"  # anyone who confirms their email address

    @property
    def label(self) -> str:
        return {
            WhoMayComment.register: "Only parents and carers on the pupil register",
            WhoMayComment.anyone: "Anyone who confirms their email address",
        }[self]


class WordKind(enum.StrEnum):
    banned = "banned"  # refused at once
    suspect = "suspect"  # held for a moderator with the word marked

    @property
    def label(self) -> str:
        return {WordKind.banned: "Banned", WordKind.suspect: "To check"}[self]


class ExternalChannel(enum.StrEnum):
    facebook = "facebook"
    instagram = "instagram"
    x = "x"
    youtube = "youtube"
    other = "other"

    @property
    def label(self) -> str:
        return {
            ExternalChannel.facebook: "Facebook",
            ExternalChannel.instagram: "Instagram",
            ExternalChannel.x: "X (Twitter)",
            ExternalChannel.youtube: "YouTube",
            ExternalChannel.other: "Another site",
        }[self]


class ExternalAction(enum.StrEnum):
    hidden = "hidden"
    deleted = "deleted"
    reported = "reported"
    replied = "replied"
    none = "none"

    @property
    def label(self) -> str:
        return {
            ExternalAction.hidden: "Hidden there",
            ExternalAction.deleted: "Deleted there",
            ExternalAction.reported: "Reported to the site",
            ExternalAction.replied: "Replied there",
            ExternalAction.none: "Nothing done there",
        }[self]


class Commenter(Row, table=True):
    """Someone who comments: a contact from the pupil register (`contact_id`), or, when the
    school lets anyone comment, an address confirmed by a one-time link (`email`). Blocking is
    on this row, whichever way they signed in."""

    __tablename__ = "commenter"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("pupil_contact_person.id"), nullable=True, unique=True
        ),
    )
    email: str | None = Field(default=None, sa_column=Column(String(320), unique=True))
    display_name: str = Field(default="", sa_column=Column(String(60), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    confirmed_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    blocked: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    blocked_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    blocked_reason: str = Field(default="", sa_column=Column(Text, nullable=False))


class CommenterLink(Row, table=True):
    """A one-time link for a commenter not on the register, and then their session (as a
    parent's sign-in row is): only the token's digest is kept."""

    __tablename__ = "commenter_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    commenter_id: int = Field(
        sa_column=Column(Integer, ForeignKey("commenter.id"), nullable=False, index=True)
    )
    next_path: str = Field(default="", sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    ended_at: datetime | None = Field(default=None, sa_column=Column(DateTime))


class Comment(Row, table=True):
    """A comment on a news post. `body` is what is shown once approved (with any redaction);
    `original_body` keeps the words as sent when a moderator redacted them (moderators only)."""

    __tablename__ = "comment"
    __table_args__ = (
        Index("ix_comment_post_status_created", "post_id", "status", "created_at"),
        Index("ix_comment_queue", "queued", "queued_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(sa_column=Column(Integer, ForeignKey("news_post.id"), nullable=False))
    commenter_id: int = Field(
        sa_column=Column(Integer, ForeignKey("commenter.id"), nullable=False, index=True)
    )
    display_name: str = Field(sa_column=Column(String(60), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    original_body: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(
        default=CommentStatus.pending.value, sa_column=Column(String(16), nullable=False)
    )
    queued: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    queued_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    on_register: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    posted_anyway: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    decided_by_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=True)
    )
    decision_reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    report_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))


class CommentFlag(Row, table=True):
    """What screening found, kept as it was at the moment of screening: on a comment, or on a
    comment recorded from the school's social media (`external_id`).

    `queued_at` is the comment's own `queued_at` while the comment is in the moderation queue and
    None otherwise, kept in step by the services that queue a comment and take it out (in the
    same transaction, after the comment's own conditional update). With
    `ix_comment_flag_queue` (rule, queued_at, comment_id), a page of the queue filtered by a rule
    reads its entries in order instead of sorting every comment the rule flagged."""

    __tablename__ = "comment_flag"
    __table_args__ = (
        Index("ix_comment_flag_rule_comment", "rule", "comment_id"),
        Index("ix_comment_flag_queue", "rule", "queued_at", "comment_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    comment_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("comment.id"), nullable=True, index=True),
    )
    external_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("external_comment.id"), nullable=True, index=True),
    )
    rule: str = Field(sa_column=Column(String(32), nullable=False))
    severity: str = Field(sa_column=Column(String(16), nullable=False))
    start: int = Field(sa_column=Column(Integer, nullable=False))
    end: int = Field(sa_column=Column(Integer, nullable=False))
    matched: str = Field(sa_column=Column(Text, nullable=False))
    context: str = Field(sa_column=Column(Text, nullable=False))
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    queued_at: datetime | None = Field(default=None, sa_column=Column(DateTime))


class CommentReport(Row, table=True):
    """A parent's report of a published comment: one per commenter and comment."""

    __tablename__ = "comment_report"
    __table_args__ = (UniqueConstraint("comment_id", "commenter_id"),)

    id: int | None = Field(default=None, primary_key=True)
    comment_id: int = Field(
        sa_column=Column(Integer, ForeignKey("comment.id"), nullable=False, index=True)
    )
    commenter_id: int = Field(sa_column=Column(Integer, ForeignKey("commenter.id"), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class ModerationWord(Row, table=True):
    """A word or phrase on the school's banned or suspect list."""

    __tablename__ = "moderation_word"
    __table_args__ = (UniqueConstraint("kind", "word"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    word: str = Field(sa_column=Column(String(100), nullable=False))
    added_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class ModerationSettings(Row, table=True):
    """The one row of moderation settings. `words_revision` goes up with every change to the
    word lists, so the cached screener knows to rebuild."""

    __tablename__ = "moderation_settings"

    id: int | None = Field(default=None, primary_key=True)
    who_may_comment: str = Field(
        default=WhoMayComment.register.value, sa_column=Column(String(16), nullable=False)
    )
    reports_to_hide: int = Field(default=3, sa_column=Column(Integer, nullable=False))
    words_revision: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    revision: int = Field(default=1, sa_column=Column(Integer, nullable=False))


class ExternalComment(Row, table=True):
    """A comment seen on one of the school's social media pages, recorded by a moderator so the
    school's record is complete."""

    __tablename__ = "external_comment"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    link: str = Field(default="", sa_column=Column(String(500), nullable=False))
    author: str = Field(default="", sa_column=Column(String(200), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(sa_column=Column(String(16), nullable=False))
    noted_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    noted_by_id: int = Field(sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=False))
