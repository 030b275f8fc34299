"""What a case's history records, and how the case page shows it.

Every tag a complaint's history event may carry is a `Tag`; `describe` turns an event into the
words staff read. A new tag without a sentence fails `tests/complaints/test_timeline.py`.

Every look at a case by staff is recorded, so a busy case gathers far more looks than changes
(one case under load: 1,268 events, nearly all of them views). The case page therefore reads the
two apart: `looks` counts the views in SQL, one line per person and thing opened, and `changes`
reads everything else a page at a time, newest page first.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from portal.calendar import format_date
from portal.complaints.models import Channel, MessageKind, Stage, Status
from portal.history import HistoryEvent

MESSAGE_TAG_PREFIX = "complaint:message:"


class Tag(enum.StrEnum):
    view = "complaint:view"
    outbox_view = "complaint:view:outbox"
    exclude = "complaint:exclude"
    exclusion_cleared = "complaint:exclude:cleared"
    receive = "complaint:receive"
    status = "complaint:status"
    triage = "complaint:triage"
    link = "complaint:link"
    follow = "complaint:link:follow"
    unlink = "complaint:unlink"
    deadline_moved = "complaint:deadline:moved"
    escalate = "complaint:stage:escalate"
    panel = "complaint:panel:record"
    bundle_sent = "complaint:panel:bundle"
    persistent = "complaint:persistent"
    letter_saved = "complaint:letter:saved"
    email_placed = "complaint:email:placed"
    email_held = "complaint:email:held"
    email_attached = "complaint:email:attached"
    email_set_aside = "complaint:email:set-aside"
    logged = "complaint:logged"
    delegate = "complaint:delegate"
    take_back = "complaint:delegate:take-back"


def message_tag(kind: MessageKind) -> str:
    """The tag of a message or letter added to the case ("complaint:message:stage1_letter")."""
    return f"{MESSAGE_TAG_PREFIX}{kind.value}"


MESSAGE_WORDS = {
    MessageKind.parent_reply: "The parent replied",
    MessageKind.school_message: "Message sent to the parent",
    MessageKind.internal_note: "Internal note added",
    MessageKind.deadline_update: "New date sent to the parent",
    MessageKind.stage1_letter: "Response letter sent",
    MessageKind.stage2_letter: "Panel outcome letter sent",
    MessageKind.redirect_notice: "Sent to another procedure",
    MessageKind.withdrawal: "The parent withdrew it",
    MessageKind.escalation_request: "The parent asked for the next stage",
    MessageKind.acknowledgement: "Acknowledgement sent to the parent",
    MessageKind.panel_papers: "Papers for the panel added",
}


def readable(value: str | None) -> str:
    """A history value in words: dates written out, statuses and stages by their labels."""
    if not value:
        return ""
    if value in Status.__members__:
        return Status(value).label
    if value in Stage.__members__:
        return Stage(value).label
    try:
        return format_date(date.fromisoformat(value))
    except ValueError:
        return value


def _viewed(event: HistoryEvent) -> str:
    read = event.details.get("read")
    return f"Opened {read}" if read else "Opened the case"


def _received(event: HistoryEvent) -> str:
    if event.details.get("late"):
        return "Received from the parent (later than the time limit for raising it)"
    return "Received from the parent"


def _logged(event: HistoryEvent) -> str:
    """ "Logged by Janet Okafor from a phone call on Thursday 3 December 2026"."""
    channel = event.to_value or ""
    came = Channel(channel).from_words if channel in Channel.__members__ else channel
    stated = readable(event.details.get("stated_on"))
    return f"Logged by {event.actor_label} from {came}" + (f" on {stated}" if stated else "")


def _triaged(event: HistoryEvent) -> str:
    detail = event.details
    parts = [f"Sorted as {readable(event.to_value)}"]
    for key, label in (
        ("category", "category"),
        ("handler", "handler"),
        ("late_decision", "late case"),
        ("anonymous_decision", "anonymous case"),
        ("notes", "notes"),
    ):
        if detail.get(key):
            parts.append(f"{label}: {detail[key]}")
    return "; ".join(parts)


def _deadline_moved(event: HistoryEvent) -> str:
    before, after = readable(event.from_value), readable(event.to_value)
    if not before:
        return f"Deadline set to {after} now that the term dates reach it"
    if not after:
        return f"Deadline of {before} not set any more: the term dates no longer reach it"
    return f"Deadline moved from {before} to {after} because term dates or bank holidays changed"


def _delegated(event: HistoryEvent) -> str:
    detail = event.details
    sentence = f"Given to {detail.get('to', 'a senior leader')} to look into"
    if detail.get("from"):
        sentence += f", instead of {detail['from']}"
    if detail.get("with_lead"):
        sentence += f", with its lead case {detail['with_lead']}"
    return f"{sentence}. Note: {detail['note']}" if detail.get("note") else sentence


def _moved_on(event: HistoryEvent) -> str:
    sentence = f"Moved from {readable(event.from_value)} to {readable(event.to_value)}"
    lead = event.details.get("with_lead")
    return f"{sentence} with its linked cases ({lead})" if lead else sentence


SENTENCES: dict[Tag, Callable[[HistoryEvent], str]] = {
    Tag.view: _viewed,
    Tag.outbox_view: lambda _e: "Read an email about this case in the outbox",
    Tag.exclude: lambda _e: "Kept someone out of this case (the person it is about)",
    Tag.exclusion_cleared: lambda _e: "Cleared an unsure match: that person may see this case",
    Tag.receive: _received,
    Tag.status: lambda e: f"Status changed from {readable(e.from_value)} to {readable(e.to_value)}",
    Tag.triage: _triaged,
    Tag.link: lambda e: f"Linked to lead case {e.to_value}",
    Tag.follow: lambda e: f"Sorted with its lead case {e.to_value}: same stage and handler",
    Tag.unlink: lambda e: (
        f"Unlinked from lead case {e.from_value}: {e.details.get('reason', '')}".rstrip(": ")
    ),
    Tag.deadline_moved: _deadline_moved,
    Tag.escalate: _moved_on,
    Tag.panel: lambda e: f"Panel recorded: hearing on {readable(e.to_value)}",
    Tag.bundle_sent: lambda e: (
        f"Panel bundle sent{' again' if e.details.get('again') else ''} to the panel and the "
        f"parent ({e.details.get('pages', '?')} pages)"
    ),
    Tag.persistent: lambda e: f"Marked as unreasonably persistent: {e.details.get('reason', '')}",
    Tag.letter_saved: lambda e: (
        f"Draft of the {e.details.get('letter', 'letter')} saved (not sent to the parent)"
    ),
    Tag.email_placed: lambda _e: "The parent's reply came by email and was added to the case",
    Tag.email_held: lambda e: (
        f"An email reply was held for office: {e.details.get('reason', '')}".rstrip(": ")
    ),
    Tag.email_attached: lambda e: (
        f"Added an email from {e.details.get('sender', 'an unknown address')} to the case"
    ),
    Tag.email_set_aside: lambda e: f"Set an email aside: {e.details.get('reason', '')}",
    Tag.logged: _logged,
    Tag.delegate: _delegated,
    Tag.take_back: lambda e: (
        f"Taken back from {e.details.get('from') or 'the senior leader'}: the handler looks into it"
    ),
}


def describe(event: HistoryEvent) -> str:
    """The timeline's sentence for one event (an unknown tag shows as itself, never an error)."""
    if event.tag.startswith(MESSAGE_TAG_PREFIX):
        kind = event.tag.removeprefix(MESSAGE_TAG_PREFIX)
        if kind in MessageKind.__members__:
            return MESSAGE_WORDS.get(MessageKind(kind), kind)
        return kind
    try:
        tag = Tag(event.tag)
    except ValueError:
        return event.tag
    return SENTENCES[tag](event)


# ---------------------------------------------------------------- reading a case's history

LOOK_TAGS = (Tag.view.value, Tag.outbox_view.value)
CHANGES_PER_PAGE = 50
# A page shown again within this time after the person's own action on the case (the page
# after "Send", the form shown again with its errors, an earlier page of the history) is the
# same look, not another opening.
SAME_LOOK_WITHIN = timedelta(minutes=10)


@dataclass(frozen=True)
class Looks:
    """How often one person opened one thing on the case: the case page, a file, a letter."""

    who: str
    what: str
    times: int
    last: datetime


@dataclass(frozen=True)
class ChangesPage:
    """A page of the case's history without its views, oldest first, with where to go next:
    `earlier` and `later` are the event ids to page from (`?before=` and `?after=`)."""

    events: list[HistoryEvent]
    total: int
    earlier: int | None
    later: int | None

    @property
    def is_latest(self) -> bool:
        return self.later is None


def _of_case(complaint_id: int) -> ColumnElement[bool]:
    return (HistoryEvent.subject_type == "complaint") & (
        HistoryEvent.subject_id == str(complaint_id)
    )


def looks(session: Session, complaint_id: int) -> list[Looks]:
    """Every staff look at the case, counted per person and per thing opened, newest first.

    Counted by the database: a case opened a thousand times costs one row per person."""
    newest = func.max(HistoryEvent.id)
    rows = session.execute(
        select(
            HistoryEvent.actor_label,
            HistoryEvent.tag,
            HistoryEvent.detail,
            func.count(),
            func.max(HistoryEvent.occurred_at),
        )
        .where(_of_case(complaint_id), HistoryEvent.tag.in_(LOOK_TAGS))
        .group_by(
            HistoryEvent.actor_user_id,
            HistoryEvent.actor_label,
            HistoryEvent.tag,
            HistoryEvent.detail,
        )
        .order_by(newest.desc())
    )
    return [
        Looks(
            who=label,
            what=describe(HistoryEvent(tag=tag, detail=detail)),
            times=times,
            last=last,
        )
        for label, tag, detail, times, last in rows
    ]


def changes(
    session: Session,
    complaint_id: int,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int | None = None,
) -> ChangesPage:
    """One page of everything but the views: the newest `size` events (`CHANGES_PER_PAGE`), or
    those just before the event `before`, or just after the event `after`; oldest first."""
    size = size or CHANGES_PER_PAGE
    changed = _of_case(complaint_id) & HistoryEvent.tag.not_in(LOOK_TAGS)
    statement = select(HistoryEvent).where(changed)
    if after is not None:
        statement = statement.where(HistoryEvent.id > after).order_by(HistoryEvent.id)
    else:
        if before is not None:
            statement = statement.where(HistoryEvent.id < before)
        statement = statement.order_by(HistoryEvent.id.desc())
    events = list(session.scalars(statement.limit(size + 1)))
    more = len(events) > size
    events = events[:size]
    if after is None:
        events.reverse()
    total = session.scalar(select(func.count()).select_from(HistoryEvent).where(changed)) or 0
    if not events:
        return ChangesPage(events=[], total=total, earlier=None, later=None)
    first, last = events[0].id, events[-1].id

    def exists(condition: ColumnElement[bool]) -> bool:
        found = session.scalar(select(HistoryEvent.id).where(changed, condition).limit(1))
        return found is not None

    if after is not None:
        earlier = first if exists(HistoryEvent.id < first) else None
        later = last if more else None
    else:
        earlier = first if more else None
        later = last if before is not None and exists(HistoryEvent.id > last) else None
    return ChangesPage(events=events, total=total, earlier=earlier, later=later)


def continues_look(session: Session, complaint_id: int, user_id: int, now: datetime) -> bool:
    """Whether showing the case to this person now only continues their look at it: the newest
    event on the case that a person caused (not the portal itself) is theirs, and recent.

    After their own action, or a refused form, or on an earlier page of the history, the page
    is shown again; nothing anybody else did came in between, so it is not a new opening."""
    newest = session.execute(
        select(HistoryEvent.actor_user_id, HistoryEvent.occurred_at)
        .where(_of_case(complaint_id), HistoryEvent.actor_type != "system")
        .order_by(HistoryEvent.id.desc())
        .limit(1)
    ).first()
    if newest is None:
        return False
    actor, when = newest
    return actor == user_id and now - when <= SAME_LOOK_WITHIN
