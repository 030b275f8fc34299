"""What a case's history records, and the sentence the case page's timeline shows for each.

Every tag a complaint's history event may carry is a `Tag`; `describe` turns an event into the
words staff read. A new tag without a sentence fails `tests/complaints/test_timeline.py`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date

from portal.calendar import format_date
from portal.complaints.models import MessageKind, Stage, Status
from portal.history import HistoryEvent

MESSAGE_TAG_PREFIX = "complaint:message:"


class Tag(enum.StrEnum):
    view = "complaint:view"
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
    persistent = "complaint:persistent"


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


def _moved_on(event: HistoryEvent) -> str:
    sentence = f"Moved from {readable(event.from_value)} to {readable(event.to_value)}"
    lead = event.details.get("with_lead")
    return f"{sentence} with its linked cases ({lead})" if lead else sentence


SENTENCES: dict[Tag, Callable[[HistoryEvent], str]] = {
    Tag.view: _viewed,
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
    Tag.persistent: lambda e: f"Marked as unreasonably persistent: {e.details.get('reason', '')}",
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
