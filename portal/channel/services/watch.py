"""When photo consent changes for a pupil in an approved post (`Domain.on_pupil_consent_changed`).

Photo consent tells every installed domain when consent may have changed for some pupils (an
answer recorded, a pupil restricted, pupils leaving or changed in a register import, a consent
setting changed, and once a day for answers that lapse with time), in the same transaction,
without importing the news channel. For each approved post showing one of those pupils, the
photo check is made again:

- a post already public is flagged (the head and office are emailed, and a warning shows on the
  staff news page and the staff home) until they take it down or deal with it. A post flagged
  and not yet dealt with is not flagged again: nobody is emailed twice, and its warning just
  lists who fails now. A post dealt with passed the check then (dealing with it needs that), so
  any pupil failing later is news and flags it again;
- a post approved for later (not public yet) is returned to its author instead, so it never
  goes out with a pupil the check now refuses.

The pupils may be the whole register (a setting changed, the daily run): they are read in
chunks, and the posts are checked a batch at a time with one photo check per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select, update
from sqlmodel import Session

from portal.channel.models import Post, PostPupil, PostStatus
from portal.channel.services import workflow
from portal.channel.services.posts import is_public
from portal.history import Actor

T = TypeVar("T")

# Bound parameters per IN (...): well under SQLite's 32,766 and PostgreSQL's 65,535.
IDS_PER_QUERY = 1000
# Posts checked together: at most MAX_PUPILS (60) pupils each, so one photo check reads the
# answers of at most 3,000 pupils.
POSTS_PER_CHECK = 50


def detail_of(failing: Iterable[workflow.PupilCheck]) -> str:
    return "\n".join(
        f"{line.pupil.name}, {line.pupil.class_name}: {line.words}" for line in failing
    )


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def posts_showing(session: Session, pupil_ids: Iterable[int]) -> list[Post]:
    """The approved posts (public or scheduled) showing any of these pupils, oldest first."""
    ids = sorted({int(pupil_id) for pupil_id in pupil_ids})
    post_ids: set[int] = set()
    for chunk in _chunks(ids, IDS_PER_QUERY):
        post_ids.update(
            session.scalars(
                select(PostPupil.post_id)
                .join(Post, Post.id == PostPupil.post_id)
                .where(
                    PostPupil.pupil_id.in_(chunk),  # type: ignore[attr-defined]
                    Post.status == PostStatus.approved.value,
                )
                .distinct()
            )
        )
    found: list[Post] = []
    for chunk in _chunks(sorted(post_ids), IDS_PER_QUERY):
        statement = select(Post).where(Post.id.in_(chunk))  # type: ignore[union-attr]
        found.extend(session.scalars(statement.execution_options(populate_existing=True)))
    return sorted(found, key=lambda post: post.id or 0)


def pupil_consent_changed(session: Session, pupil_ids: Iterable[int], at: datetime) -> None:
    """`Domain.on_pupil_consent_changed` for the news channel."""
    posts = posts_showing(session, pupil_ids)
    for batch in _chunks(posts, POSTS_PER_CHECK):
        checked = workflow.check_posts(session, batch, at)
        for post in batch:
            failing = workflow.failing(checked.get(post.id or 0, []))
            if not failing:
                continue
            detail = detail_of(failing)
            if is_public(post, at):
                _flag(session, post, detail, at)
            else:
                _send_back(session, post, detail)


def _flag(session: Session, post: Post, detail: str, at: datetime) -> None:
    """Flag the post and tell the head and office, unless it is flagged already (not dealt with
    yet): then its warning only lists who fails now, and nobody is emailed again."""
    if post.consent_flagged_at is not None:
        if post.consent_flag_detail != detail:
            session.execute(
                update(Post)
                .where(
                    Post.id == post.id,
                    Post.status == PostStatus.approved.value,
                    Post.consent_flagged_at.is_not(None),  # type: ignore[union-attr]
                )
                .values(consent_flag_detail=detail, revision=Post.revision + 1)
                .execution_options(synchronize_session=False)
            )
            session.refresh(post)
        return
    done = session.execute(
        update(Post)
        .where(
            Post.id == post.id,
            Post.status == PostStatus.approved.value,
            Post.consent_flagged_at.is_(None),  # type: ignore[union-attr]
        )
        .values(consent_flagged_at=at, consent_flag_detail=detail, revision=Post.revision + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(post)
    if done != 1:
        return
    told = workflow.tell_head_and_office(session, post, detail)
    workflow.record(
        session, post, workflow.FLAGGED, Actor.system(), detail={"pupils": detail, "told": told}
    )


def _send_back(session: Session, post: Post, detail: str) -> None:
    comments = (
        "Photo consent changed before this post went out. The photo check now says no for:\n"
        + detail
    )
    done = session.execute(
        update(Post)
        .where(Post.id == post.id, Post.status == PostStatus.approved.value)
        .values(status=PostStatus.returned.value, revision=Post.revision + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(post)
    if done != 1:
        return
    told = workflow.tell_head_and_office(session, post, detail)
    workflow.record(
        session,
        post,
        workflow.SENT_BACK,
        Actor.system(),
        from_value=PostStatus.approved.value,
        to_value=PostStatus.returned.value,
        detail={"comments": comments, "told": told},
    )
