"""The school's news posts, their pictures, and the pupils who appear in them."""

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
    true,
)
from sqlmodel import Field

from portal.rows import Row


class PostStatus(enum.StrEnum):
    """Where a post is in its approval. A post is public only when `approved` and its
    `publish_at` has come (`portal.channel.services.posts.public_clause`)."""

    draft = "draft"  # being written; only staff see it
    awaiting_approval = "awaiting_approval"  # sent to the head
    returned = "returned"  # the head sent it back with comments
    approved = "approved"  # approved: public from publish_at
    withdrawn = "withdrawn"  # taken down after publishing

    @property
    def label(self) -> str:
        return {
            PostStatus.draft: "Draft",
            PostStatus.awaiting_approval: "Waiting for the head's approval",
            PostStatus.returned: "Returned with comments",
            PostStatus.approved: "Approved",
            PostStatus.withdrawn: "Taken down",
        }[self]


class Post(Row, table=True):
    """A news post. `slug` is its address under /news, fixed when it is first approved.
    `revision` goes up with every change, so two people editing at once cannot overwrite each
    other (a conditional update on it)."""

    __tablename__ = "news_post"
    __table_args__ = (Index("ix_news_post_status_publish_at", "status", "publish_at"),)

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_column=Column(String(120), nullable=False, unique=True))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    summary: str = Field(default="", sa_column=Column(String(300), nullable=False))
    body_markdown: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(
        default=PostStatus.draft.value, sa_column=Column(String(24), nullable=False)
    )
    names_pupils: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    author_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=False, index=True)
    )
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    approved_by_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=True)
    )
    approved_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    publish_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    withdrawn_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    # Set when consent for a pupil in a published post is withdrawn (or a safeguarding flag is
    # set); cleared when the head or office deal with it.
    consent_flagged_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    consent_flag_detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The author has said who is in the pictures (no one is an answer too): migration 0027.
    pupils_answered: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    comments_open: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=true())
    )
    revision: int = Field(default=1, sa_column=Column(Integer, nullable=False))


class PostImage(Row, table=True):
    """A picture in a post: re-encoded (metadata stripped) and resized when uploaded, kept in the
    uploads folder under `stored_name`; `alt_text` is required."""

    __tablename__ = "news_post_image"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(
        sa_column=Column(Integer, ForeignKey("news_post.id"), nullable=False, index=True)
    )
    stored_name: str = Field(sa_column=Column(String(80), nullable=False, unique=True))
    content_type: str = Field(sa_column=Column(String(40), nullable=False))
    width: int = Field(sa_column=Column(Integer, nullable=False))
    height: int = Field(sa_column=Column(Integer, nullable=False))
    alt_text: str = Field(sa_column=Column(String(500), nullable=False))
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    uploaded_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class PostPupil(Row, table=True):
    """A pupil who appears in a post's pictures (and whether the post names them): the photo
    check must say yes for every one before the post can be approved."""

    __tablename__ = "news_post_pupil"
    __table_args__ = (UniqueConstraint("post_id", "pupil_id"),)

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(
        sa_column=Column(Integer, ForeignKey("news_post.id"), nullable=False, index=True)
    )
    pupil_id: int = Field(
        sa_column=Column(Integer, ForeignKey("pupil.id"), nullable=False, index=True)
    )
    named: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
