"""A news post's way from draft to the school's news page (policy paragraph 5: posts on behalf of
the school are checked and approved by the head teacher before they go out).

Staff in the drafting roles write a post; its author sends it to the head, who approves it (to go
out now or at a set time) or returns it with comments. Nobody approves their own post: the head
approves; a post the head wrote goes to another head, or, when the school has no other, to the
chair of governors. Every change is a conditional UPDATE on the post's status and `revision`, so
two people acting at once (two heads approving, the author editing while the head approves)
cannot both win: the other is told calmly what happened. Every step is in the post's history.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.channel.models import Post, PostImage, PostPupil, PostStatus
from portal.consent.models import Pupil, Purpose
from portal.consent.services.answers import Decision, decisions_for
from portal.consent.services.purposes import purposes
from portal.db import now_of
from portal.history import Actor, HistoryEvent, history_of, record_event
from portal.mail import queue_mail
from portal.wording.services import render as render_wording

SUBJECT = "news_post"
DRAFT_ROLES = (Role.office, Role.head, Role.senior_leader)
APPROVE_ROLES = (Role.head, Role.chair)
TAKE_DOWN_ROLES = (Role.head, Role.office)
NEWS_ROLES = (Role.office, Role.head, Role.senior_leader, Role.chair)
EDITABLE = (PostStatus.draft.value, PostStatus.returned.value, PostStatus.awaiting_approval.value)
SENDABLE = (PostStatus.draft.value, PostStatus.returned.value)
WEBSITE = "website"

MAX_TITLE = 200
MAX_SUMMARY = 300
MAX_BODY = 20_000
MAX_COMMENTS = 2_000
MAX_NOTE = 1_000
MAX_PUPILS = 60

CREATED = "news:created"
EDITED = "news:edited"
SUBMITTED = "news:submitted"
APPROVED = "news:approved"
RETURNED = "news:returned"
WITHDRAWN = "news:withdrawn"
IMAGE_ADDED = "news:image:added"
IMAGE_REMOVED = "news:image:removed"
PUPILS_CHANGED = "news:pupils:changed"
PUPILS_ANSWERED = "news:pupils:answered"
FLAGGED = "news:consent:flagged"
SENT_BACK = "news:consent:returned"
DEALT_WITH = "news:consent:dealt-with"

# What each step is called on the post's staff page.
SENTENCES = {
    CREATED: "Started the post",
    EDITED: "Changed the words",
    SUBMITTED: "Sent it to the head for approval",
    APPROVED: "Approved it",
    RETURNED: "Returned it with comments",
    WITHDRAWN: "Took the post down",
    IMAGE_ADDED: "Added a picture",
    IMAGE_REMOVED: "Removed a picture",
    PUPILS_CHANGED: "Changed who is in the pictures",
    PUPILS_ANSWERED: "Said who is in the pictures",
    FLAGGED: "Warned that photo consent changed for a pupil in the pictures",
    SENT_BACK: "Returned the scheduled post: photo consent changed for a pupil in the pictures",
    DEALT_WITH: "Marked the consent warning as dealt with",
}


class NewsRefused(Exception):
    """The step cannot be taken now; the message says why, kindly (`field`: the form field)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PupilCheck:
    """One pupil in a post's pictures, and whether the photo check lets the post show them."""

    pupil: Pupil
    allowed: bool
    words: str
    named: bool


class PhotoCheckRefused(NewsRefused):
    """Some pupils in the pictures may not appear (or be named) on the website."""

    def __init__(self, failing: Sequence[PupilCheck]) -> None:
        names = "; ".join(f"{line.pupil.name}, {line.pupil.class_name}" for line in failing)
        super().__init__("This post cannot go out: the photo check says no for " + names, "pupils")
        self.failing = list(failing)


# ---------------------------------------------------------------- who may do what


def is_author(user: StaffUser, post: Post) -> bool:
    return user.id == post.author_id


def approvers_for(session: Session, post: Post) -> list[StaffUser]:
    """Who may approve the post: every active head but its author; when that is nobody (the
    school's one head wrote it), the chair of governors."""
    active = list(
        session.scalars(
            select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.id)
        )
    )
    heads = [u for u in active if u.has_role(Role.head) and u.id != post.author_id]
    if heads:
        return heads
    return [u for u in active if u.has_role(Role.chair) and u.id != post.author_id]


def may_approve(session: Session, user: StaffUser, post: Post) -> bool:
    return not is_author(user, post) and any(a.id == user.id for a in approvers_for(session, post))


def may_edit(user: StaffUser, post: Post) -> bool:
    return is_author(user, post) and user.has_role(*DRAFT_ROLES) and post.status in EDITABLE


def may_take_down(user: StaffUser) -> bool:
    return user.has_role(*TAKE_DOWN_ROLES)


def may_remove_pictures(user: StaffUser, post: Post) -> bool:
    """The author while it is being written; the head or office after it was approved (to
    replace a picture after a consent warning: they may remove, never add)."""
    if post.status == PostStatus.approved.value:
        return may_take_down(user)
    return may_edit(user, post)


# ---------------------------------------------------------------- reading


def post_of(session: Session, post_id: int) -> Post | None:
    return session.get(Post, post_id)


def fresh(session: Session, post: Post) -> Post:
    session.refresh(post)
    return post


def images_of(session: Session, post: Post) -> list[PostImage]:
    return list(
        session.scalars(
            select(PostImage)
            .where(PostImage.post_id == post.id)
            .order_by(PostImage.position, PostImage.id)
        )
    )


def pupils_of(session: Session, post: Post) -> list[tuple[PostPupil, Pupil]]:
    statement = (
        select(PostPupil, Pupil)
        .join(Pupil, Pupil.id == PostPupil.pupil_id)
        .where(PostPupil.post_id == post.id)
        .order_by(Pupil.class_name, Pupil.legal_last_name, Pupil.legal_first_name)
    )
    return [(row, pupil) for row, pupil in session.execute(statement)]


def website_purpose(session: Session) -> Purpose | None:
    return next((p for p in purposes(session) if p.key == WEBSITE), None)


def check_pupils(session: Session, post: Post, at: datetime) -> list[PupilCheck]:
    """The photo check for the website, for every pupil in the post's pictures, at `at`: a pupil
    the post names must also be allowed to be named."""
    if post.id is None:
        return []
    return check_posts(session, [post], at)[post.id]


def check_posts(
    session: Session, posts: Sequence[Post], at: datetime
) -> dict[int, list[PupilCheck]]:
    """`check_pupils` for several posts at once: one read of their pupils and one
    photo check for them all (post id -> the checks, in the order the post lists them)."""
    post_ids = [post.id for post in posts if post.id is not None]
    checked: dict[int, list[PupilCheck]] = {post_id: [] for post_id in post_ids}
    if not post_ids:
        return checked
    rows = list(
        session.execute(
            select(PostPupil, Pupil)
            .join(Pupil, Pupil.id == PostPupil.pupil_id)
            .where(PostPupil.post_id.in_(post_ids))  # type: ignore[attr-defined]
            .order_by(
                PostPupil.post_id, Pupil.class_name, Pupil.legal_last_name, Pupil.legal_first_name
            )
        )
    )
    if not rows:
        return checked
    purpose = website_purpose(session)
    if purpose is None:
        for row, pupil in rows:
            checked[row.post_id].append(PupilCheck(pupil, False, NOT_ASKED, row.named))
        return checked
    pupils = list({pupil.id: pupil for _row, pupil in rows}.values())
    decided = decisions_for(session, pupils, [purpose], at)
    for row, pupil in rows:
        decision = decided[(pupil.id, purpose.id)]  # type: ignore[index]
        checked[row.post_id].append(pupil_check(pupil, decision, row.named))
    return checked


NOT_ASKED = "The school does not ask about the website"


def pupil_check(pupil: Pupil, decision: Decision, is_named: bool) -> PupilCheck:
    """What the photo check's answer means for a pupil in a post (named in it or not)."""
    if not decision.allowed:
        return PupilCheck(pupil, False, decision.words, is_named)
    if is_named and not decision.may_name:
        words = "May appear, but may not be named: take their name out of the post"
        return PupilCheck(pupil, False, words, is_named)
    return PupilCheck(pupil, True, "Yes", is_named)


def failing(checks: Iterable[PupilCheck]) -> list[PupilCheck]:
    return [line for line in checks if not line.allowed]


def status_counts(session: Session) -> dict[str, int]:
    counts = {status.value: 0 for status in PostStatus}
    for status, count in session.execute(select(Post.status, func.count()).group_by(Post.status)):
        counts[status] = count
    return counts


def posts_with_status(session: Session, status: str, limit: int = 200) -> list[Post]:
    newest = func.coalesce(Post.publish_at, Post.updated_at)
    return list(
        session.scalars(
            select(Post)
            .where(Post.status == status)
            .order_by(newest.desc(), Post.id.desc())
            .limit(limit)
        )
    )


def waiting_for(session: Session, user: StaffUser) -> list[Post]:
    """Posts waiting for approval that this person may approve, oldest first."""
    if not user.has_role(*APPROVE_ROLES):
        return []
    waiting = session.scalars(
        select(Post)
        .where(Post.status == PostStatus.awaiting_approval.value)
        .order_by(Post.submitted_at, Post.id)
    )
    return [post for post in waiting if may_approve(session, user, post)]


def flagged_posts(session: Session) -> list[Post]:
    return list(
        session.scalars(
            select(Post)
            .where(Post.status == PostStatus.approved.value, Post.consent_flagged_at.is_not(None))  # type: ignore[union-attr]
            .order_by(Post.consent_flagged_at)
        )
    )


def names_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(wanted)))  # type: ignore[union-attr]
    return {user_id: name for user_id, name in rows}


def history(session: Session, post: Post) -> list[HistoryEvent]:
    return history_of(session, SUBJECT, post.id)


def last_comments(session: Session, post: Post) -> str:
    """The comments the post was last returned with."""
    for event in reversed(history(session, post)):
        if event.tag in (RETURNED, SENT_BACK):
            return str(event.details.get("comments", ""))
    return ""


# ---------------------------------------------------------------- writing


def record(session: Session, post: Post, tag: str, actor: Actor, **fields: Any) -> None:
    record_event(session, subject_type=SUBJECT, subject_id=post.id, tag=tag, actor=actor, **fields)


def one_line(text: str) -> str:
    """A title or summary on one line: any run of spaces or line breaks becomes one space (a
    title goes into an email's subject, where a line break has no place)."""
    return " ".join(text.split())


def check_words(title: str, summary: str, body: str) -> dict[str, str]:
    title, summary = one_line(title), one_line(summary)
    errors = {}
    if not title.strip():
        errors["title"] = "Enter a title for the post"
    elif len(title.strip()) > MAX_TITLE:
        errors["title"] = f"The title must be {MAX_TITLE} characters or fewer"
    if len(summary.strip()) > MAX_SUMMARY:
        errors["summary"] = f"The summary must be {MAX_SUMMARY} characters or fewer"
    if not body.strip():
        errors["body_markdown"] = "Write the post"
    elif len(body) > MAX_BODY:
        errors["body_markdown"] = f"The post must be {MAX_BODY:,} characters or fewer"
    return errors


def create_post(session: Session, user: StaffUser, *, title: str, summary: str, body: str) -> Post:
    """A new draft by `user`. Its address is fixed when it is first approved."""
    if not user.has_role(*DRAFT_ROLES):
        raise NewsRefused("Only office staff, the head and senior leaders can write news posts")
    errors = check_words(title, summary, body)
    if errors:
        field, message = next(iter(errors.items()))
        raise NewsRefused(message, field)
    now = now_of(session)
    post = Post(
        slug=f"draft-{secrets.token_hex(8)}",
        title=one_line(title),
        summary=one_line(summary),
        body_markdown=body.strip(),
        status=PostStatus.draft.value,
        author_id=user.id,  # type: ignore[arg-type]
        created_at=now,
        updated_at=now,
        revision=1,
    )
    session.add(post)
    session.flush()
    record(session, post, CREATED, Actor.staff(user))
    return post


def _changed(session: Session, post: Post, *where: Any, **values: Any) -> bool:
    """The one way a post changes: UPDATE ... WHERE id and the given conditions, revision + 1.
    False when another change got there first."""
    done = session.execute(
        update(Post)
        .where(Post.id == post.id, *where)
        .values(revision=Post.revision + 1, updated_at=now_of(session), **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(post)
    return done == 1


CHANGED_MEANWHILE = (
    "Someone changed this post while you had it open. Read it again, then try once more"
)


NO_LONGER_OPEN = (
    "Someone approved or took down this post while you were changing it, so it can no longer "
    "be changed. Your changes are still in the form"
)


def edit_post(
    session: Session,
    user: StaffUser,
    post: Post,
    *,
    title: str,
    summary: str,
    body: str,
    seen_revision: int,
) -> None:
    if not (is_author(user, post) and user.has_role(*DRAFT_ROLES)):
        raise NewsRefused("Only the author can change this post")
    if post.status not in EDITABLE:
        raise NewsRefused(NO_LONGER_OPEN, "title")
    errors = check_words(title, summary, body)
    if errors:
        field, message = next(iter(errors.items()))
        raise NewsRefused(message, field)
    if not _changed(
        session,
        post,
        Post.revision == seen_revision,
        Post.status.in_(EDITABLE),  # type: ignore[attr-defined]
        title=one_line(title),
        summary=one_line(summary),
        body_markdown=body.strip(),
    ):  # `_changed` read the post again: say what happened
        raise NewsRefused(
            NO_LONGER_OPEN if post.status not in EDITABLE else CHANGED_MEANWHILE, "title"
        )
    record(session, post, EDITED, Actor.staff(user))


def touch(session: Session, user: StaffUser, post: Post, **values: Any) -> None:
    """A change to the pictures or pupils: the post must still be open for changes."""
    allowed = (PostStatus.approved.value,) if post.status == PostStatus.approved.value else EDITABLE
    if not _changed(session, post, Post.status.in_(allowed), **values):  # type: ignore[attr-defined]
        raise NewsRefused("This post can no longer be changed: it was approved or taken down")


def submit(
    session: Session, user: StaffUser, post: Post, *, seen_revision: int, base_url: str
) -> None:
    """Send the post to the head (the approvers are emailed)."""
    if not (is_author(user, post) and user.has_role(*DRAFT_ROLES)):
        raise NewsRefused("Only the author can send this post for approval")
    if post.status not in SENDABLE:
        raise NewsRefused("This post has been sent for approval already")
    if images_of(session, post) and not post.pupils_answered:
        raise NewsRefused("Say which pupils are in the pictures before you send the post", "pupils")
    if not approvers_for(session, post):
        raise NewsRefused(
            "There is nobody to approve this post: the portal has no head teacher or chair of "
            "governors. Ask the portal's administrator"
        )
    if not _changed(
        session,
        post,
        Post.revision == seen_revision,
        Post.status.in_(SENDABLE),  # type: ignore[attr-defined]
        status=PostStatus.awaiting_approval.value,
        submitted_at=now_of(session),
    ):
        raise NewsRefused(CHANGED_MEANWHILE)
    told = approvers_for(session, post)
    for person in told:
        message = render_wording(
            session,
            "news-approval-asked",
            {
                "recipient_name": person.name,
                "author_name": user.name,
                "post_title": post.title,
                "post_link": f"{base_url}/staff/news/{post.id}",
            },
        )
        queue_mail(
            session,
            to=person.email,
            subject=message.subject,
            body_text=message.body + "\n",
            related=(SUBJECT, str(post.id)),
        )
    record(
        session,
        post,
        SUBMITTED,
        Actor.staff(user),
        from_value=PostStatus.draft.value,
        to_value=PostStatus.awaiting_approval.value,
        detail={"told": [person.id for person in told]},
    )


# Addresses under /news that are pages of their own (the pictures, the feed, the comments' links):
# a post called "Images" gets "images-post", so /news/images/... stays the pictures'.
RESERVED_SLUGS = frozenset({"images", "feed", "feed-atom", "comments", "comment-link"})


def slug_for(title: str) -> str:
    """The post's address under /news, from its title: plain letters, numbers and hyphens."""
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", plain.replace("'", "")).strip("-")[:80].strip("-")
    slug = slug or "post"
    return f"{slug}-post" if slug in RESERVED_SLUGS else slug


def approve(
    session: Session,
    user: StaffUser,
    post: Post,
    *,
    seen_revision: int,
    publish_at: datetime | None,
) -> None:
    """Approve the post to go out now (`publish_at` None) or at a set time. Refused for its
    author, for anyone who may not approve it, and while the photo check says no for any pupil
    in its pictures (at the time it goes out)."""
    if is_author(user, post):
        raise NewsRefused("You wrote this post, so someone else must approve it")
    if not may_approve(session, user, post):
        raise NewsRefused("Only the head teacher can approve this post")
    now = now_of(session)
    if publish_at is not None and publish_at <= now:
        raise NewsRefused("Choose a time in the future, or publish it now", "publish_on_day")
    goes_out = publish_at or now
    if post.status != PostStatus.awaiting_approval.value:
        raise _already(session, post)
    refused = failing(check_pupils(session, post, goes_out))
    if refused:
        raise PhotoCheckRefused(refused)
    base = slug_for(post.title)
    taken = session.scalar(select(Post.id).where(Post.slug == base, Post.id != post.id))
    slug = base if taken is None else f"{base}-{post.id}"
    values = {
        "status": PostStatus.approved.value,
        "approved_by_id": user.id,
        "approved_at": now,
        "publish_at": goes_out,
    }
    where = (
        Post.revision == seen_revision,
        Post.status == PostStatus.awaiting_approval.value,
    )
    try:
        with session.begin_nested():
            done = _changed(session, post, *where, slug=slug, **values)
    except IntegrityError:  # another post took the same address at this moment
        done = _changed(session, post, *where, slug=f"{base}-{post.id}", **values)
    if not done:
        raise _already(session, post)
    record(
        session,
        post,
        APPROVED,
        Actor.staff(user),
        from_value=PostStatus.awaiting_approval.value,
        to_value=PostStatus.approved.value,
        detail={
            "publish_at": goes_out.isoformat(timespec="minutes"),
            "scheduled": bool(publish_at),
        },
    )


def _already(session: Session, post: Post) -> NewsRefused:
    session.refresh(post)
    if post.status == PostStatus.approved.value:
        by = names_by_id(session, [post.approved_by_id]).get(post.approved_by_id or 0, "someone")
        return NewsRefused(f"This post was approved already, by {by}. Nothing else is needed")
    if post.status == PostStatus.returned.value:
        return NewsRefused("This post was returned to its author already")
    if post.status == PostStatus.awaiting_approval.value:
        return NewsRefused(
            "The author changed this post while you were reading it. Read it again, then decide"
        )
    return NewsRefused("This post is not waiting for approval")


def return_post(
    session: Session,
    user: StaffUser,
    post: Post,
    *,
    seen_revision: int,
    comments: str,
    base_url: str,
) -> None:
    """Send the post back to its author with comments (emailed to them)."""
    if not may_approve(session, user, post):
        raise NewsRefused("Only the head teacher can return this post")
    comments = comments.strip()
    if not comments:
        raise NewsRefused("Write what the author should change", "comments")
    if len(comments) > MAX_COMMENTS:
        raise NewsRefused(f"The comments must be {MAX_COMMENTS:,} characters or fewer", "comments")
    if not _changed(
        session,
        post,
        Post.revision == seen_revision,
        Post.status == PostStatus.awaiting_approval.value,
        status=PostStatus.returned.value,
    ):
        raise _already(session, post)
    author = session.get(StaffUser, post.author_id)
    if author is not None and author.is_active:
        message = render_wording(
            session,
            "news-post-returned",
            {
                "recipient_name": author.name,
                "returned_by": user.name,
                "post_title": post.title,
                "comments": comments,
                "post_link": f"{base_url}/staff/news/{post.id}",
            },
        )
        queue_mail(
            session,
            to=author.email,
            subject=message.subject,
            body_text=message.body + "\n",
            related=(SUBJECT, str(post.id)),
        )
    record(
        session,
        post,
        RETURNED,
        Actor.staff(user),
        from_value=PostStatus.awaiting_approval.value,
        to_value=PostStatus.returned.value,
        detail={"comments": comments},
    )


def withdraw(session: Session, user: StaffUser, post: Post, *, note: str = "") -> None:
    """Take an approved post down (it leaves /news and the feed at once)."""
    if not may_take_down(user):
        raise NewsRefused("Only the head teacher or office staff can take a post down")
    if len(note) > MAX_NOTE:
        raise NewsRefused(f"The note must be {MAX_NOTE:,} characters or fewer", "note")
    if not _changed(
        session,
        post,
        Post.status == PostStatus.approved.value,
        status=PostStatus.withdrawn.value,
        withdrawn_at=now_of(session),
        consent_flagged_at=None,
    ):
        raise NewsRefused("This post was taken down already")
    record(
        session,
        post,
        WITHDRAWN,
        Actor.staff(user),
        from_value=PostStatus.approved.value,
        to_value=PostStatus.withdrawn.value,
        detail={"note": note.strip()} if note.strip() else None,
    )


def deal_with_flag(session: Session, user: StaffUser, post: Post, *, note: str) -> None:
    """Mark a consent warning dealt with: only once no pupil left in the post fails the check
    (remove their picture and their name first, or take the post down)."""
    if not may_take_down(user):
        raise NewsRefused("Only the head teacher or office staff can deal with this warning")
    note = note.strip()
    if not note:
        raise NewsRefused("Say what was done, such as the picture was replaced", "note")
    if len(note) > MAX_NOTE:
        raise NewsRefused(f"The note must be {MAX_NOTE:,} characters or fewer", "note")
    still = failing(check_pupils(session, post, now_of(session)))
    if still:
        names = "; ".join(f"{line.pupil.name} ({line.words})" for line in still)
        raise NewsRefused(
            f"The photo check still says no for {names}. Remove them from the pictures, or take "
            "the post down",
            "note",
        )
    if not _changed(
        session,
        post,
        Post.status == PostStatus.approved.value,
        Post.consent_flagged_at.is_not(None),  # type: ignore[union-attr]
        consent_flagged_at=None,
        consent_flag_detail="",
    ):
        raise NewsRefused("This warning was dealt with already")
    record(session, post, DEALT_WITH, Actor.staff(user), detail={"note": note})


# ---------------------------------------------------------------- who is in the pictures


def add_pupils(session: Session, user: StaffUser, post: Post, pupil_ids: Sequence[int]) -> int:
    """Add these pupils to the post's pictures (those already there are kept once); the author
    answers again who is in the pictures."""
    if not may_edit(user, post):
        raise NewsRefused("Only the author can change who is in the pictures", "pupil_ids")
    if not images_of(session, post):
        raise NewsRefused("Add a picture first", "pupil_ids")
    have = {row.pupil_id for row, _pupil in pupils_of(session, post)}
    known = set(
        session.scalars(
            select(Pupil.id).where(Pupil.id.in_(list(pupil_ids)), Pupil.on_roll)  # type: ignore[union-attr]
        )
    )
    new = [i for i in dict.fromkeys(pupil_ids) if i in known and i not in have]
    if len(have) + len(new) > MAX_PUPILS:
        raise NewsRefused(f"A post can show up to {MAX_PUPILS} pupils", "pupil_ids")
    if not new:
        return 0
    touch(session, user, post, pupils_answered=False)
    for pupil_id in new:
        session.add(PostPupil(post_id=post.id, pupil_id=pupil_id, named=post.names_pupils))  # type: ignore[arg-type]
    try:
        session.flush()
    except IntegrityError:  # the same pupil added twice at once
        raise NewsRefused(CHANGED_MEANWHILE, "pupil_ids") from None
    record(session, post, PUPILS_CHANGED, Actor.staff(user), detail={"added": new})
    return len(new)


def remove_pupil(session: Session, user: StaffUser, post: Post, pupil_id: int) -> None:
    if not may_remove_pictures(user, post):
        raise NewsRefused("You cannot change who is in this post's pictures")
    values = {} if post.status == PostStatus.approved.value else {"pupils_answered": False}
    touch(session, user, post, **values)
    session.execute(
        delete(PostPupil).where(PostPupil.post_id == post.id, PostPupil.pupil_id == pupil_id)
    )
    record(session, post, PUPILS_CHANGED, Actor.staff(user), detail={"removed": [pupil_id]})


NOBODY = "none"
LISTED = "listed"
NAMED = "named"


def answer_pupils(session: Session, user: StaffUser, post: Post, who: str) -> None:
    """The author's answer: no pupils can be recognised (`none`), the pupils listed, not named
    in the post (`listed`), or the pupils listed and named in it (`named`)."""
    if not may_edit(user, post):
        raise NewsRefused("Only the author can say who is in the pictures", "who")
    if who not in (NOBODY, LISTED, NAMED):
        raise NewsRefused("Choose who is in the pictures", "who")
    listed = pupils_of(session, post)
    if who != NOBODY and not listed:
        raise NewsRefused("Find and add the pupils in the pictures first, or choose none", "who")
    names = who == NAMED
    touch(session, user, post, pupils_answered=True, names_pupils=names)
    if who == NOBODY:
        session.execute(delete(PostPupil).where(PostPupil.post_id == post.id))
    else:
        session.execute(update(PostPupil).where(PostPupil.post_id == post.id).values(named=names))
    record(session, post, PUPILS_ANSWERED, Actor.staff(user), to_value=who)


# ---------------------------------------------------------------- telling the head and office


def head_and_office(session: Session) -> list[StaffUser]:
    active = session.scalars(
        select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.id)
    )
    return [u for u in active if u.has_role(Role.head, Role.office)]


def tell_head_and_office(session: Session, post: Post, detail: str) -> list[int]:
    told = head_and_office(session)
    for person in told:
        message = render_wording(
            session,
            "news-consent-changed",
            {"recipient_name": person.name, "post_title": post.title, "detail": detail},
        )
        queue_mail(
            session,
            to=person.email,
            subject=message.subject,
            body_text=message.body + "\n",
            related=(SUBJECT, str(post.id)),
        )
    return [person.id for person in told if person.id is not None]
