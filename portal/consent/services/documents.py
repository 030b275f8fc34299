"""What parents confirm, at which version, and who has confirmed it.

Two documents (`Document`): the photo guidance for school events, whose version is a number the
school raises when it changes the guidance (`consent_settings.photo_guidance_version`), and what
the school asks of parents online, whose version is the social media policy's published version
(`portal.guidance`: publishing a new version asks every parent again). A confirmation counts only
for the version it names; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from portal.calendar import format_date
from portal.clock import SCHOOL_TIME
from portal.consent.models import Confirmation, Contact, Document
from portal.consent.services.flags import settings_of
from portal.guidance.models import PolicyVersion
from portal.guidance.services import current_policy


def current_version(session: Session, document: Document) -> str | None:
    """The version a parent confirms now; None when there is nothing to confirm (no policy
    published yet)."""
    if document is Document.photo_guidance:
        return str(settings_of(session).photo_guidance_version)
    policy = published_policy(session)
    return policy.version if policy is not None else None


def published_policy(session: Session) -> PolicyVersion | None:
    """The social media policy's version parents confirm now (the guidance domain's own)."""
    return current_policy(session)


def confirmation_of(
    session: Session, contact: Contact, document: Document, version: str
) -> Confirmation | None:
    return session.scalar(
        select(Confirmation).where(
            Confirmation.contact_id == contact.id,
            Confirmation.document == document.value,
            Confirmation.version == version,
        )
    )


def latest_confirmation(
    session: Session, contact: Contact, document: Document
) -> Confirmation | None:
    """The contact's latest confirmation of any version (to say "you confirmed an earlier
    version" when the school has changed it since)."""
    return session.scalar(
        select(Confirmation)
        .where(Confirmation.contact_id == contact.id, Confirmation.document == document.value)
        .order_by(Confirmation.confirmed_at.desc(), Confirmation.id.desc())  # type: ignore[attr-defined]
        .limit(1)
    )


def confirmed_at(
    session: Session, contact_ids: Iterable[int], document: Document, version: str | None
) -> dict[int, datetime]:
    """When each of these contacts confirmed this version (those who have not are missing)."""
    ids = list(contact_ids)
    if not ids or version is None:
        return {}
    statement = select(Confirmation.contact_id, Confirmation.confirmed_at).where(
        Confirmation.contact_id.in_(ids),  # type: ignore[attr-defined]
        Confirmation.document == document.value,
        Confirmation.version == version,
    )
    return {contact_id: moment for contact_id, moment in session.execute(statement)}


def when_words(moment: datetime) -> str:
    """A stored moment (naive UTC) as people read it, in the school's time."""
    local = moment.replace(tzinfo=UTC).astimezone(SCHOOL_TIME)
    return f"{format_date(local.date())} at {local:%H:%M}"
