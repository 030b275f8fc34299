"""Which posts are public: the one rule every public page, the feed and the comments use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, select
from sqlmodel import Session

from portal.channel.models import Post, PostStatus


def public_clause(now: datetime) -> ColumnElement[bool]:
    """A post is public once approved and its publishing time has come, until taken down."""
    return and_(
        Post.status == PostStatus.approved.value,
        Post.publish_at.is_not(None),  # type: ignore[union-attr]
        Post.publish_at <= now,  # type: ignore[operator]
    )


def public_post(session: Session, slug: str, now: datetime) -> Post | None:
    """The public post at /news/<slug>, or None (a draft, a post waiting or taken down: None)."""
    return session.scalar(select(Post).where(Post.slug == slug, public_clause(now)))


def is_public(post: Post, now: datetime) -> bool:
    return (
        post.status == PostStatus.approved.value
        and post.publish_at is not None
        and post.publish_at <= now
    )
