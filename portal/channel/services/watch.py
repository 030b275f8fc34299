"""When photo consent changes for a pupil in an approved post (`Domain.on_pupil_consent_changed`).

Photo consent tells every installed domain when answers are recorded or a pupil is restricted,
in the same transaction, without importing the news channel. For each approved post showing one
of those pupils, the photo check is made again:

- a post already public is flagged at once (the head and office are emailed, and a warning shows
  on the staff news page and the staff home) until they take it down or deal with it;
- a post approved for later (not public yet) is returned to its author instead, so it never
  goes out with a pupil the check now refuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from portal.channel.models import Post, PostPupil, PostStatus
from portal.channel.services import workflow
from portal.channel.services.posts import is_public
from portal.history import Actor


def detail_of(failing: Iterable[workflow.PupilCheck]) -> str:
    return "\n".join(
        f"{line.pupil.name}, {line.pupil.class_name}: {line.words}" for line in failing
    )


def pupil_consent_changed(session: Session, pupil_ids: Iterable[int], at: datetime) -> None:
    """`Domain.on_pupil_consent_changed` for the news channel."""
    ids = list(pupil_ids)
    if not ids:
        return
    posts = list(
        session.scalars(
            select(Post)
            .join(PostPupil, PostPupil.post_id == Post.id)
            .where(
                PostPupil.pupil_id.in_(ids),  # type: ignore[attr-defined]
                Post.status == PostStatus.approved.value,
            )
            .distinct()
            .order_by(Post.id)
        )
    )
    for post in posts:
        failing = workflow.failing(workflow.check_pupils(session, post, at))
        if not failing:
            continue
        detail = detail_of(failing)
        if is_public(post, at):
            _flag(session, post, detail, at)
        else:
            _send_back(session, post, detail)


def _flag(session: Session, post: Post, detail: str, at: datetime) -> None:
    done = session.execute(
        update(Post)
        .where(Post.id == post.id, Post.status == PostStatus.approved.value)
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
