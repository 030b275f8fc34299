"""The moderation queue and what moderators decide.

Every decision is one conditional UPDATE on the comment (`WHERE queued AND status = the status
the moderator saw`): of two moderators deciding at once, exactly one changes the comment, and
the other is told it was already decided. Every decision is in the history (subject "comment"),
with the moderator, the reason and the rules screening raised.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlmodel import Session

from portal.accounts.models import Role
from portal.channel.models import Post
from portal.clock import unix_seconds
from portal.config import Settings
from portal.consent.models import Contact
from portal.db import now_of
from portal.history import Actor, record_event
from portal.mail import queue_mail
from portal.moderation.models import Comment, Commenter, CommentFlag, CommentStatus
from portal.moderation.screening import Rule
from portal.moderation.services.commenters import address_of
from portal.moderation.services.comments import reports_of, unqueue_flags
from portal.school.services import school_of
from portal.signing import Signer
from portal.wording.services import render as render_wording

MODERATOR_ROLES = (Role.office, Role.head)
PAGE_SIZE = 25
COUNT_CAP = 1000
MAX_REASON = 1000
NAME_REMOVED = "[name removed]"
DETAILS_REMOVED = "[details removed]"
MAX_EXTRA_WORDS = 20
MAX_EXTRA_LENGTH = 500
COMPLAINT_LINK_PATH = "/news/comments/complaint/"
COMPLAINT_LINK_PURPOSE = "comment-complaint"
COMPLAINT_LINK_DAYS = 60
NAME_RULES = (Rule.pupil_name.value, Rule.staff_name.value)
REDACTED_RULES = (
    *NAME_RULES,
    Rule.phone_number.value,
    Rule.email_address.value,
    Rule.street_address.value,
    Rule.postcode.value,
)
QUEUED_STATUSES = (
    CommentStatus.pending.value,
    CommentStatus.hidden.value,
    CommentStatus.approved.value,  # published, and reported by parents
)


class Action(enum.StrEnum):
    approve = "approve"
    redact = "redact"
    reject = "reject"
    refer = "refer"
    block = "block"

    @property
    def label(self) -> str:
        return {
            Action.approve: "Approve",
            Action.redact: "Approve with every flagged name and detail removed",
            Action.reject: "Reject",
            Action.refer: "Send to the complaints procedure",
            Action.block: "Block the commenter",
        }[self]

    @property
    def tag(self) -> str:
        return f"comment:{self.value}"


# A comment's history, each event a sentence after who did it (None: no one did, it happened).
_EVENT_SENTENCES = {
    "comment:sent": "sent the comment.",
    "comment:refused": "sent the comment. It was refused at once for a banned word.",
    "comment:reported": "reported the comment",
    "comment:hidden": "The comment was hidden after reports from parents.",
    "comment:approve": "approved the comment.",
    "comment:redact": "approved the comment with names or details removed.",
    "comment:reject": "rejected the comment",
    "comment:refer": "sent the comment to the complaints procedure.",
    "comment:block": "blocked the commenter",
}
_WITHOUT_ACTOR = {"comment:hidden"}


def event_sentence(tag: str) -> str:
    """What a comment's history event says after the name of who did it."""
    return _EVENT_SENTENCES.get(tag, "changed the comment.")


def event_has_actor(tag: str) -> bool:
    return tag not in _WITHOUT_ACTOR


_STATUS_WORDS = {status.value: status.label for status in CommentStatus}


def status_words(status: str, queued: bool) -> str:
    """Where a comment is, in words: "Published, and back with a moderator" for one reported."""
    words = _STATUS_WORDS.get(status, status)
    if queued and status != CommentStatus.pending.value:
        return f"{words}, and back with a moderator"
    return words


class DecisionRefused(Exception):
    """The decision cannot be made as asked: `field` names the input."""

    def __init__(self, message: str, field: str = "reason") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Redaction:
    """What a moderator chose to remove: flagged parts by their flag ids (None: every flagged
    name and personal detail, as the queue's bulk action does) and words they typed."""

    flag_ids: tuple[int, ...] | None = None
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str = ""
    reject_pending: bool = False  # with a block: reject their comments still waiting
    redaction: Redaction | None = None  # with a redaction: what to remove (None: every flag)


@dataclass
class Segment:
    text: str
    rule: str | None = None
    label: str = ""


@dataclass
class QueueItem:
    comment: Comment
    post_title: str
    post_slug: str
    flags: list[CommentFlag]
    segments: list[Segment]
    reports: int
    commenter_blocked: bool
    rules: list[str] = field(default_factory=list)


def rule_label(rule: str) -> str:
    return Rule(rule).label if rule in Rule.__members__ else rule


def segments(text: str, flags: list[CommentFlag]) -> list[Segment]:
    """The text cut into plain parts and flagged parts (overlapping flags joined into one,
    named by the first), for the queue to mark each with its rule in words."""
    out: list[Segment] = []
    at = 0
    for flag in sorted(flags, key=lambda f: (f.start, -f.end)):
        start, end = max(flag.start, at), min(flag.end, len(text))
        if end <= start:
            if out and out[-1].rule and flag.end > at:
                continue
            continue
        if start > at:
            out.append(Segment(text[at:start]))
        out.append(Segment(text[start:end], flag.rule, rule_label(flag.rule)))
        at = end
    if at < len(text):
        out.append(Segment(text[at:]))
    return out


def shown_text(comment: Comment) -> str:
    """The words as screened (the original when a moderator redacted them)."""
    return comment.original_body if comment.original_body is not None else comment.body


def flags_of(session: Session, comment_ids: list[int]) -> dict[int, list[CommentFlag]]:
    found: dict[int, list[CommentFlag]] = {i: [] for i in comment_ids}
    if not comment_ids:
        return found
    for flag in session.scalars(
        select(CommentFlag)
        .where(CommentFlag.comment_id.in_(comment_ids))  # type: ignore[union-attr]
        .order_by(CommentFlag.start, CommentFlag.id)
    ):
        found[flag.comment_id or 0].append(flag)
    return found


@dataclass
class QueuePage:
    items: list[QueueItem]
    total: int  # at most COUNT_CAP
    page: int
    pages: int
    more: bool = False  # more than COUNT_CAP waiting: `total` and `pages` are lower bounds
    has_next: bool = False


def queue_page(session: Session, *, rule: str | None = None, page: int = 1) -> QueuePage:
    """The queue, oldest first, PAGE_SIZE at a time; with `rule`, only comments it flagged.
    Counting stops after COUNT_CAP: "more than 1,000 waiting" says enough, and counting
    100,000 on every view does not (tests/bench/moderation.py)."""
    if rule:
        return _rule_page(session, rule, page)
    where = [Comment.queued.is_(True)]  # type: ignore[attr-defined]
    capped = select(Comment.id).where(*where).limit(COUNT_CAP + 1).subquery()
    counted = session.scalar(select(func.count()).select_from(capped)) or 0
    more = counted > COUNT_CAP
    total = min(counted, COUNT_CAP)
    pages = max(1, -(-total // PAGE_SIZE))
    page = max(page, 1) if more else min(max(page, 1), pages)
    rows = session.execute(
        _queue_rows()
        .where(*where)
        .order_by(Comment.queued_at, Comment.id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    ).all()
    has_next = len(rows) > PAGE_SIZE
    return _queue_page(session, list(rows[:PAGE_SIZE]), total, page, pages, more, has_next)


def _queue_rows() -> Select:  # type: ignore[type-arg]
    return (
        select(Comment, Post.title, Post.slug, Commenter.blocked)
        .join(Post, Post.id == Comment.post_id)
        .join(Commenter, Commenter.id == Comment.commenter_id)
    )


def _rule_page(session: Session, rule: str, page: int) -> QueuePage:
    """The queue filtered by a rule, read in order from `ix_comment_flag_queue` (rule,
    queued_at, comment_id): the flags of a comment waiting carry its `queued_at`, so a page
    reads PAGE_SIZE + 1 entries rather than sorting every comment the rule flagged. A comment
    the rule flagged twice has two entries with the same (queued_at, comment_id): DISTINCT on
    the index's order keeps one."""
    entries = (
        select(CommentFlag.queued_at, CommentFlag.comment_id)
        .where(CommentFlag.rule == rule, CommentFlag.queued_at.is_not(None))  # type: ignore[union-attr]
        .distinct()
        .order_by(CommentFlag.queued_at, CommentFlag.comment_id)
    )
    capped = entries.limit(COUNT_CAP + 1).subquery()
    counted = session.scalar(select(func.count()).select_from(capped)) or 0
    more = counted > COUNT_CAP
    total = min(counted, COUNT_CAP)
    pages = max(1, -(-total // PAGE_SIZE))
    page = max(page, 1) if more else min(max(page, 1), pages)
    ids = [
        comment_id
        for _queued_at, comment_id in session.execute(
            entries.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
        )
    ]
    rows = session.execute(
        _queue_rows()
        .where(Comment.id.in_(ids[:PAGE_SIZE]), Comment.queued.is_(True))  # type: ignore[union-attr, attr-defined]
        .order_by(Comment.queued_at, Comment.id)
    ).all()
    return _queue_page(session, list(rows), total, page, pages, more, len(ids) > PAGE_SIZE)


def _queue_page(
    session: Session,
    rows: list[Any],
    total: int,
    page: int,
    pages: int,
    more: bool,
    has_next: bool,
) -> QueuePage:
    flags = flags_of(session, [row[0].id for row in rows])
    items = []
    for comment, title, slug, blocked in rows:
        own = flags[comment.id]
        items.append(
            QueueItem(
                comment=comment,
                post_title=title,
                post_slug=slug,
                flags=own,
                segments=segments(shown_text(comment), own),
                reports=comment.report_count,
                commenter_blocked=blocked,
                rules=sorted({rule_label(f.rule) for f in own}),
            )
        )
    return QueuePage(items, total, page, pages, more, has_next)


def complaint_token(settings: Settings, comment: Comment, now: datetime) -> str:
    """The signed part of the complaint link sent to a comment's author."""
    ends = unix_seconds(now) + COMPLAINT_LINK_DAYS * 86400
    return Signer(settings.secret_key).sign(
        COMPLAINT_LINK_PURPOSE,
        str(comment.id),
        expires_at=ends,
        bound_to=f"{comment.commenter_id}:{comment.created_at.isoformat()}",
    )


def comment_for_complaint_token(session: Session, settings: Settings, token: str) -> Comment | None:
    """The comment a complaint link was sent for, or None (tampered with, expired, unknown)."""
    payload = Signer.peek(token)
    if payload is None or not (payload.isascii() and payload.isdigit()) or len(payload) > 10:
        return None
    comment = session.get(Comment, int(payload))
    if comment is None or comment.status != CommentStatus.referred.value:
        return None
    checked = Signer(settings.secret_key).unsign(
        COMPLAINT_LINK_PURPOSE,
        token,
        now=unix_seconds(now_of(session)),
        bound_to=f"{comment.commenter_id}:{comment.created_at.isoformat()}",
    )
    return comment if checked == str(comment.id) else None


def _email_author(
    session: Session, settings: Settings, comment: Comment, key: str, values: dict[str, str]
) -> None:
    commenter = session.get(Commenter, comment.commenter_id)
    address = address_of(session, commenter) if commenter is not None else None
    if not address:
        return
    post = session.get(Post, comment.post_id)
    school = school_of(session)
    message = render_wording(
        session,
        key,
        {
            "recipient_name": comment.display_name,
            "post_title": post.title if post is not None else "",
            "comment_text": shown_text(comment),
            **values,
        },
        school=school,
    )
    queue_mail(
        session,
        to=address,
        subject=message.subject,
        body_text=message.body + f"\n\n{school.name}\n{school.contact_phone}\n",
        related=("comment", str(comment.id)),
    )


def removable(flags: list[CommentFlag]) -> list[CommentFlag]:
    """The flagged parts a redaction may remove: names and personal details, one per place."""
    seen: set[tuple[int, int]] = set()
    out = []
    for flag in sorted(flags, key=lambda f: (f.start, -f.end, f.id or 0)):
        if flag.rule in REDACTED_RULES and (flag.start, flag.end) not in seen:
            seen.add((flag.start, flag.end))
            out.append(flag)
    return out


def extra_words(typed: str) -> list[str]:
    """The words a moderator typed to remove as well: separated by commas or new lines, each
    with its spaces tidied, repeats left out."""
    found: dict[str, str] = {}
    for part in re.split(r"[,\n]", typed):
        word = " ".join(part.split())
        if word:
            found.setdefault(word.casefold(), word)
    return list(found.values())


def _word_pattern(word: str) -> re.Pattern[str]:
    """A typed word or phrase, matched as a whole word (as screening does), any case, with any
    spaces between its words."""
    body = r"\s+".join(re.escape(part) for part in word.split())
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def check_extra_words(text: str, typed: str) -> tuple[list[str], str]:
    """The typed words to remove, and what to fix ("" when nothing): each must be in the text."""
    if len(typed) > MAX_EXTRA_LENGTH:
        return [], f"Enter {MAX_EXTRA_LENGTH} characters or fewer"
    found = extra_words(typed)
    if len(found) > MAX_EXTRA_WORDS:
        return [], f"Enter {MAX_EXTRA_WORDS} words or fewer, separated by commas"
    missing = [word for word in found if not _word_pattern(word).search(text)]
    if missing:
        return [], "These words are not in the comment: " + ", ".join(missing)
    return found, ""


def redacted(text: str, flags: list[CommentFlag], redaction: Redaction | None = None) -> str:
    """The text with each chosen flagged name replaced by "[name removed]", each chosen flagged
    personal detail and each typed word by "[details removed]". Without a `redaction`, every
    flagged name and personal detail is chosen. Overlapping parts become one."""
    chosen = redaction.flag_ids if redaction is not None else None
    spans: list[tuple[int, int, str]] = [
        (flag.start, flag.end, NAME_REMOVED if flag.rule in NAME_RULES else DETAILS_REMOVED)
        for flag in removable(flags)
        if (chosen is None or flag.id in chosen) and 0 <= flag.start < flag.end <= len(text)
    ]
    for word in redaction.words if redaction is not None else ():
        spans.extend(
            (m.start(), m.end(), DETAILS_REMOVED) for m in _word_pattern(word).finditer(text)
        )
    out: list[str] = []
    at = 0
    for start, end, replacement in sorted(spans, key=lambda s: (s[0], -s[1])):
        if start < at:  # overlaps the part just removed: removed with it
            at = max(at, end)
            continue
        out.append(text[at:start])
        out.append(replacement)
        at = end
    out.append(text[at:])
    return "".join(out)


def decide(
    session: Session,
    settings: Settings,
    comment_id: int,
    decision: Decision,
    moderator: object,
) -> bool:
    """Make one decision on a queued comment. False when the comment is no longer waiting
    (another moderator decided first, or it was never queued): nothing changes then."""
    reason = decision.reason.strip()
    if len(reason) > MAX_REASON:
        raise DecisionRefused(f"The reason must be {MAX_REASON:,} characters or fewer")
    if decision.action in (Action.reject, Action.block) and not reason:
        raise DecisionRefused(
            "Enter the reason the commenter will be told"
            if decision.action == Action.reject
            else "Enter why you are blocking this commenter"
        )
    comment = session.get(Comment, comment_id)
    if comment is None or not comment.queued:
        return False
    session.refresh(comment)
    seen = comment.status
    if not comment.queued or seen not in QUEUED_STATUSES:
        return False
    if decision.action == Action.block:
        return block(session, settings, comment.commenter_id, decision, moderator, comment)
    flags = flags_of(session, [comment.id])[comment.id]
    now = now_of(session)
    values: dict[str, object] = {
        "queued": False,
        "decided_at": now,
        "decided_by_id": getattr(moderator, "id", None),
        "decision_reason": reason,
        "report_count": 0,
    }
    if decision.action == Action.approve:
        values["status"] = CommentStatus.approved.value
    elif decision.action == Action.redact:
        original = shown_text(comment)
        if decision.redaction is not None and decision.redaction.words:
            _found, problem = check_extra_words(original, "\n".join(decision.redaction.words))
            if problem:
                raise DecisionRefused(problem, "also_remove")
        new_body = redacted(original, flags, decision.redaction)
        if new_body == original:
            if decision.redaction is not None:
                raise DecisionRefused(
                    "Choose at least one part to remove, or type the words to remove", "parts"
                )
            raise DecisionRefused(
                "Screening found no names or personal details to remove. Approve it as it is, "
                "or reject it.",
                "action",
            )
        values.update(status=CommentStatus.approved.value, body=new_body, original_body=original)
    elif decision.action == Action.reject:
        values["status"] = CommentStatus.rejected.value
    elif decision.action == Action.refer:
        values["status"] = CommentStatus.referred.value
    changed = session.execute(
        update(Comment)
        .where(Comment.id == comment.id, Comment.queued.is_(True), Comment.status == seen)  # type: ignore[attr-defined]
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        return False
    unqueue_flags(session, comment.id)
    session.refresh(comment)
    record_event(
        session,
        subject_type="comment",
        subject_id=comment.id,
        tag=decision.action.tag,
        actor=Actor.staff(moderator),
        from_value=seen,
        to_value=comment.status,
        detail={
            "reason": reason,
            "rules": sorted({flag.rule for flag in flags}),
            "reports": len(reports_of(session, comment.id)),
            **(_removed(flags, decision.redaction) if decision.action == Action.redact else {}),
        },
    )
    if decision.action == Action.reject:
        _email_author(session, settings, comment, "comment-rejected", {"reason": reason})
    elif decision.action == Action.refer:
        link = (
            settings.base_url.rstrip("/")
            + COMPLAINT_LINK_PATH
            + complaint_token(settings, comment, now)
        )
        _email_author(session, settings, comment, "comment-to-complaints", {"complaint_link": link})
    return True


def _removed(flags: list[CommentFlag], redaction: Redaction | None) -> dict[str, object]:
    """What a redaction removed, for the history: the rules of the parts chosen and how many
    words were typed (the words themselves stay on the comment, for moderators only)."""
    chosen = redaction.flag_ids if redaction is not None else None
    parts = [f for f in removable(flags) if chosen is None or f.id in chosen]
    return {
        "removed_rules": sorted({f.rule for f in parts}),
        "removed_parts": len(parts),
        "words_removed": len(redaction.words) if redaction is not None else 0,
    }


def block(
    session: Session,
    settings: Settings,
    commenter_id: int,
    decision: Decision,
    moderator: object,
    comment: Comment | None = None,
) -> bool:
    """Block a commenter (a conditional update: once), and with `reject_pending` reject every
    comment of theirs still waiting, each told the reason."""
    reason = decision.reason.strip()
    now = now_of(session)
    changed = session.execute(
        update(Commenter)
        .where(Commenter.id == commenter_id, Commenter.blocked.is_(False))  # type: ignore[attr-defined]
        .values(blocked=True, blocked_at=now, blocked_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        return False
    record_event(
        session,
        subject_type="commenter",
        subject_id=commenter_id,
        tag="commenter:blocked",
        actor=Actor.staff(moderator),
        detail={"reason": reason, "comment": comment.id if comment else None},
    )
    if comment is not None:
        record_event(
            session,
            subject_type="comment",
            subject_id=comment.id,
            tag=Action.block.tag,
            actor=Actor.staff(moderator),
            detail={"reason": reason, "reject_pending": decision.reject_pending},
        )
    if decision.reject_pending:
        waiting = session.scalars(
            select(Comment.id).where(
                Comment.commenter_id == commenter_id,
                Comment.status == CommentStatus.pending.value,
                Comment.queued.is_(True),  # type: ignore[attr-defined]
            )
        ).all()
        for comment_id in waiting:
            decide(session, settings, comment_id, Decision(Action.reject, reason), moderator)
    return True


@dataclass(frozen=True)
class BlockedCommenter:
    commenter: Commenter
    register_name: str | None  # their name on the pupil register, when they are on it
    comments: int
    last_comment_id: int | None


def blocked_commenters(session: Session) -> list[BlockedCommenter]:
    """Everyone blocked, most recently blocked first, with how many comments they sent."""
    counts = (
        select(
            Comment.commenter_id,
            func.count(Comment.id).label("comments"),
            func.max(Comment.id).label("last_id"),
        )
        .group_by(Comment.commenter_id)
        .subquery()
    )
    rows = session.execute(
        select(Commenter, Contact.name, counts.c.comments, counts.c.last_id)
        .outerjoin(Contact, Contact.id == Commenter.contact_id)
        .outerjoin(counts, counts.c.commenter_id == Commenter.id)
        .where(Commenter.blocked.is_(True))  # type: ignore[attr-defined]
        .order_by(Commenter.blocked_at.desc(), Commenter.id.desc())  # type: ignore[union-attr]
    ).all()
    return [
        BlockedCommenter(commenter, name, comments or 0, last_id)
        for commenter, name, comments, last_id in rows
    ]


def unblock(session: Session, commenter_id: int, moderator: object) -> bool:
    """Let a blocked commenter comment again (a conditional update: of two moderators at once,
    one unblocks and the other is told). Their comments already decided stay as they are."""
    changed = session.execute(
        update(Commenter)
        .where(Commenter.id == commenter_id, Commenter.blocked.is_(True))  # type: ignore[attr-defined]
        .values(blocked=False, blocked_at=None, blocked_reason="")
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed == 1:
        record_event(
            session,
            subject_type="commenter",
            subject_id=commenter_id,
            tag="commenter:unblocked",
            actor=Actor.staff(moderator),
        )
    return changed == 1


@dataclass(frozen=True)
class BulkResult:
    done: int
    already: int


def decide_many(
    session: Session,
    settings: Settings,
    comment_ids: list[int],
    decision: Decision,
    moderator: object,
) -> BulkResult:
    """One decision for many comments (the queue's checkboxes): each its own conditional
    update, so one already decided does not stop the others."""
    done = already = 0
    for comment_id in dict.fromkeys(comment_ids):
        if decide(session, settings, comment_id, decision, moderator):
            done += 1
        else:
            already += 1
    return BulkResult(done, already)
