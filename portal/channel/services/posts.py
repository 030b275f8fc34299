"""Which posts are public: the one rule every public page, the feed and the comments use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlmodel import Session

from portal.channel.models import Post, PostImage, PostStatus


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


PER_PAGE = 10
FEED_SIZE = 20


def public_page(session: Session, now: datetime, page: int) -> tuple[list[Post], int]:
    """One page of the public posts, newest first, and how many pages there are (at least 1)."""
    total = session.scalar(select(func.count()).select_from(Post).where(public_clause(now))) or 0
    pages = max(1, -(-total // PER_PAGE))
    posts = session.scalars(
        select(Post)
        .where(public_clause(now))
        .order_by(Post.publish_at.desc(), Post.id.desc())  # type: ignore[union-attr]
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    )
    return list(posts), pages


def latest_public(session: Session, now: datetime, limit: int = FEED_SIZE) -> list[Post]:
    return list(
        session.scalars(
            select(Post)
            .where(public_clause(now))
            .order_by(Post.publish_at.desc(), Post.id.desc())  # type: ignore[union-attr]
            .limit(limit)
        )
    )


def public_image(session: Session, stored_name: str, now: datetime) -> PostImage | None:
    """A picture of a public post, or None (a picture of any other post is never served)."""
    return session.scalar(
        select(PostImage)
        .join(Post, Post.id == PostImage.post_id)
        .where(PostImage.stored_name == stored_name, public_clause(now))
    )


def public_images(session: Session, post: Post) -> list[PostImage]:
    return list(
        session.scalars(
            select(PostImage)
            .where(PostImage.post_id == post.id)
            .order_by(PostImage.position, PostImage.id)
        )
    )
