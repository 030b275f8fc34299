"""A parent's unfinished concern or complaint, kept on the server between the form's pages.

The browser holds only a random token in a cookie; the table holds its SHA-256, so a database
leak does not let anyone carry on someone else's draft. The answers are a small JSON object. Files
uploaded before sending are attachment rows whose `draft_id` is the draft's token hash.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlmodel import Session

from portal.complaints import attachments
from portal.complaints.models import Attachment, ComplaintDraft
from portal.complaints.services import token_digest
from portal.config import Settings, get_settings
from portal.db import get_now, now_of

DRAFT_COOKIE = "portal_draft"
DRAFT_COOKIE_PATH = "/complaints/new"
KEEP_FOR = timedelta(days=7)
_DELETE_DRAFT = delete(ComplaintDraft).where(
    ComplaintDraft.token_hash == bindparam("token_hash")  # type: ignore[arg-type]
)


def find(session: Session, token: str | None, now: datetime | None = None) -> ComplaintDraft | None:
    """The draft for this cookie value; an expired draft counts as no draft at all."""
    if not token or len(token) > 100:
        return None
    draft = get_now(session, ComplaintDraft, token_digest(token))
    if draft is None or draft.expires_at <= (now or now_of(session)):
        return None
    return draft


def start(session: Session, now: datetime | None = None) -> tuple[ComplaintDraft, str]:
    """A new empty draft and the token for the parent's cookie (shown to nobody else)."""
    now = now or now_of(session)
    token = secrets.token_urlsafe(32)
    draft = ComplaintDraft(
        token_hash=token_digest(token),
        answers="{}",
        created_at=now,
        updated_at=now,
        expires_at=now + KEEP_FOR,
    )
    session.add(draft)
    session.flush()
    return draft, token


def answers_of(draft: ComplaintDraft | None) -> dict[str, Any]:
    if draft is None:
        return {}
    try:
        answers = json.loads(draft.answers or "{}")
    except ValueError:
        return {}
    return answers if isinstance(answers, dict) else {}


def save(
    session: Session, draft: ComplaintDraft, changes: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """Merge one page's answers in; each save keeps the draft for another 7 days."""
    now = now or now_of(session)
    answers = answers_of(draft)
    answers.update(changes)
    draft.answers = json.dumps(answers, sort_keys=True)
    draft.updated_at = now
    draft.expires_at = now + KEEP_FOR
    session.add(draft)
    return answers


def files_of(session: Session, draft: ComplaintDraft | None) -> list[Attachment]:
    if draft is None:
        return []
    return attachments.draft_attachments(session, draft.token_hash)


def file_ids_of(session: Session, draft: ComplaintDraft | None) -> list[int]:
    """The ids of the draft's files, in the order they were added (a column read: the final
    "Send" needs no more, and reading rows as objects costs a rush more)."""
    if draft is None:
        return []
    return attachments.draft_attachment_ids(session, draft.token_hash)


def discard(session: Session, draft: ComplaintDraft) -> bool:
    """Forget the answers. Files stay: after sending they belong to the complaint.

    One DELETE now, and the draft leaves the session: the final "Send" of a rush is spared a
    flush of its own for it. False when the draft had gone already: another sending of the same
    draft (a double click, two tabs) deleted it first, and made its case; a caller that must make
    one case per draft rolls back. (The DELETE waits for that other sending's transaction.)"""
    deleted = session.connection().execute(_DELETE_DRAFT, {"token_hash": draft.token_hash})
    session.expunge(draft)
    return deleted.rowcount == 1


def discard_with_files(session: Session, settings: Settings, draft: ComplaintDraft) -> None:
    for attachment in files_of(session, draft):
        attachments.remove(session, settings, attachment)
    session.delete(draft)


def purge_expired(
    session: Session, now: datetime | None = None, settings: Settings | None = None
) -> int:
    """Delete expired drafts and their files, and files left by drafts that no longer exist.

    Returns how many drafts went. The caller commits.
    """
    now = now or now_of(session)
    settings = settings or get_settings()
    expired = list(session.scalars(select(ComplaintDraft).where(ComplaintDraft.expires_at <= now)))
    for draft in expired:
        discard_with_files(session, settings, draft)
    session.flush()
    live = select(ComplaintDraft.token_hash)
    orphans = session.scalars(
        select(Attachment).where(
            Attachment.draft_id.is_not(None),
            Attachment.complaint_id.is_(None),
            Attachment.draft_id.not_in(live),
            Attachment.uploaded_at <= now - KEEP_FOR,
        )
    )
    for attachment in list(orphans):
        attachments.remove(session, settings, attachment)
    session.flush()
    return len(expired)
