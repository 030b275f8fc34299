"""Finding cases: by reference, email or token, the queue and its search."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    Integer,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy import text as sql_text
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.clock import school_today
from portal.complaints.models import (
    Attachment,
    Complaint,
    ComplaintMessage,
    DeadlineKind,
    MessageKind,
    Stage,
    Status,
)
from portal.complaints.services.access import visibility_clause
from portal.db import now_of
from portal.signing import token_digest

REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_reference(text: str) -> str:
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(cleaned) == 8 and cleaned.startswith("C"):
        cleaned = cleaned[1:]
    if len(cleaned) != 7 or not set(cleaned) <= set(REFERENCE_ALPHABET):
        return ""
    return f"C-{cleaned[:4]}-{cleaned[4:]}"


def find_by_reference(session: Session, reference: str) -> Complaint | None:
    normalised = normalise_reference(reference)
    if not normalised:
        return None
    return session.scalars(select(Complaint).where(Complaint.reference == normalised)).first()


def find_for_parent(session: Session, reference: str, email: str) -> Complaint | None:
    """Reference plus email, both required to match; says nothing about which one was wrong."""
    complaint = find_by_reference(session, reference)
    email = normalise_email(email)
    if complaint is None or not email or complaint.parent_email_normalised != email:
        return None
    return complaint


def find_by_token(session: Session, token: str) -> Complaint | None:
    if not token or len(token) > 100:
        return None
    return session.scalars(
        select(Complaint).where(Complaint.access_token_hash == token_digest(token))
    ).first()


def messages_for(
    session: Session, complaint: Complaint, *, for_parent: bool
) -> list[ComplaintMessage]:
    statement = select(ComplaintMessage).where(ComplaintMessage.complaint_id == complaint.id)
    if for_parent:
        statement = statement.where(ComplaintMessage.kind != MessageKind.internal_note)
    return list(session.scalars(statement.order_by(ComplaintMessage.id)))


def attachments_for(
    session: Session, complaint: Complaint, *, for_parent: bool = False
) -> list[Attachment]:
    """A case's files; for the parent, never one attached to an internal note."""
    statement = select(Attachment).where(Attachment.complaint_id == complaint.id)
    if for_parent:
        notes = select(ComplaintMessage.id).where(
            ComplaintMessage.complaint_id == complaint.id,
            ComplaintMessage.kind == MessageKind.internal_note,
        )
        statement = statement.where(
            or_(Attachment.message_id.is_(None), Attachment.message_id.not_in(notes))
        )
    return list(session.scalars(statement.order_by(Attachment.id)))


@dataclass
class QueueFilters:
    status: str | None = None
    stage: str | None = None
    category: str | None = None
    handler_id: int | None = None
    overdue: bool = False
    anonymous: bool = False
    search: str = ""
    include_closed: bool = False


@dataclass
class QueuePage:
    cases: list[Complaint]
    next_cursor: str | None


def queue_page(
    session: Session,
    user: StaffUser,
    filters: QueueFilters,
    *,
    after: str | None = None,
    limit: int = 25,
    today: date | None = None,
) -> QueuePage:
    """Cases sorted by next deadline (no deadline last), keyset-paginated on (deadline, id)."""
    today = today or school_today(now_of(session))
    sort_date = Complaint.queue_date
    statement = select(Complaint).where(visibility_clause(user))
    if filters.status in {s.value for s in Status}:
        statement = statement.where(Complaint.status == filters.status)
    elif not filters.include_closed:
        statement = statement.where(Complaint.is_active.is_(True))
    if filters.stage in {s.value for s in Stage}:
        statement = statement.where(Complaint.stage == filters.stage)
    if filters.category:
        statement = statement.where(Complaint.category == filters.category)
    if filters.handler_id:
        statement = statement.where(Complaint.handler_user_id == filters.handler_id)
    if filters.overdue:
        statement = statement.where(
            Complaint.next_deadline < today, Complaint.deadline_kind != DeadlineKind.escalate
        )
    if filters.anonymous:
        statement = statement.where(Complaint.anonymous.is_(True))
    if filters.search.strip():
        statement = statement.where(search_clause(session, filters.search))
    if after:
        cursor_date, _, cursor_id = after.partition("_")
        try:
            after_date, after_id = date.fromisoformat(cursor_date), int(cursor_id)
        except ValueError:
            after_date, after_id = None, None
        if after_date is not None:
            statement = statement.where(
                tuple_(sort_date, Complaint.id) > tuple_(literal(after_date), literal(after_id))
            )
    statement = statement.order_by(sort_date, Complaint.id).limit(limit + 1)
    cases = list(session.scalars(statement))
    next_cursor = None
    if len(cases) > limit:
        cases = cases[:limit]
        last = cases[-1]
        next_cursor = f"{last.queue_date.isoformat()}_{last.id}"
    return QueuePage(cases=cases, next_cursor=next_cursor)


SEARCH_SET_LIMIT = 2000


def search_clause(session: Session, text: str) -> ColumnElement[bool]:
    """Reference, email or name exactly, or the words of the case (the full-text index).

    Words found in few cases: the matching ids are fetched first and only they are sorted.
    Words found in many cases: the queue is read in deadline order and each case tested, which
    finds a page of matches quickly. Either way the database's full-text index does the work.
    """
    text = text.strip()
    if "@" in text:
        return Complaint.parent_email_normalised == normalise_email(text)
    lowered = text.lower()
    exact = Complaint.parent_name_normalised == lowered
    reference = normalise_reference(text)
    if reference:
        exact = or_(exact, Complaint.reference == reference)
    words = [w for w in "".join(c if c.isalnum() else " " for c in lowered).split() if len(w) > 1]
    if not words:
        return exact
    if session.get_bind().dialect.name == "postgresql":
        matching = sql_text(
            "SELECT id FROM complaint WHERE to_tsvector('simple', parent_name || ' ' || "
            "what_happened) @@ to_tsquery('simple', :words) LIMIT :limit"
        ).bindparams(words=" & ".join(f"{w}:*" for w in words), limit=SEARCH_SET_LIMIT + 1)
        document = literal_column(
            "to_tsvector('simple', complaint.parent_name || ' ' || complaint.what_happened)"
        )
        per_case = document.op("@@")(func.to_tsquery("simple", " & ".join(f"{w}:*" for w in words)))
    else:
        fts_words = " ".join(f'"{w}"*' for w in words)
        matching = sql_text(
            "SELECT rowid FROM complaint_fts WHERE complaint_fts MATCH :words LIMIT :limit"
        ).bindparams(words=fts_words, limit=SEARCH_SET_LIMIT + 1)
        per_case = Complaint.id.in_(
            sql_text("SELECT rowid FROM complaint_fts WHERE complaint_fts MATCH :fts_words")
            .bindparams(fts_words=fts_words)
            .columns(column("rowid", Integer))
        )
    ids = list(session.scalars(matching))
    if len(ids) <= SEARCH_SET_LIMIT:
        return or_(exact, Complaint.id.in_(ids)) if ids else exact
    return or_(exact, per_case)
