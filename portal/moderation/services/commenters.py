"""Who comments, and how someone proves their address before commenting.

A parent or carer on the register signs in as for photo consent (`portal.consent`): the link
they are sent brings them back to the post. When the school lets anyone comment, an address not
on the register gets a one-time link of its own (`CommenterLink`), by the same mechanism
(`portal.one_time_links`): a random token of which only the digest is stored, an expiry, a single
use by a conditional update, and then a session row the signed cookie is bound to. Whatever the
address, the asker sees the same page, and each address takes one look-up and gets one email.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from portal.config import Settings
from portal.consent.models import Contact
from portal.consent.services import sign_in as sign_ins
from portal.db import now_of
from portal.history import Actor, record_event
from portal.mail import SECRET_PLACEHOLDER, normalised_address, queue_mail
from portal.moderation.models import Commenter, CommenterLink, WhoMayComment
from portal.moderation.services.settings import who_may_comment
from portal.one_time_links import Lifetimes, OneTimeLinks
from portal.school.services import school_of
from portal.sealing import seal
from portal.wording.services import render as render_wording

LINK_PATH = "/news/comment-link/"
LINK_MINUTES = 30
SESSION_HOURS = 12
IDLE_MINUTES = 60
MAX_DISPLAY_NAME = 60
LINK_SENT_TAG = "commenter:link:sent"
CONFIRMED_TAG = "commenter:confirmed"

COMMENTER_LINKS = OneTimeLinks(CommenterLink)
LIFETIMES = Lifetimes(
    link=timedelta(minutes=LINK_MINUTES),
    idle=timedelta(minutes=IDLE_MINUTES),
    longest=timedelta(hours=SESSION_HOURS),
)


@dataclass(frozen=True)
class Identity:
    """Who is commenting: a register contact, or a confirmed commenter (or both: a contact's
    commenter row is made with their first comment)."""

    commenter: Commenter | None
    contact: Contact | None

    @property
    def on_register(self) -> bool:
        return self.contact is not None

    @property
    def blocked(self) -> bool:
        return self.commenter is not None and self.commenter.blocked

    def default_name(self) -> str:
        if self.commenter is not None and self.commenter.display_name:
            return self.commenter.display_name
        if self.contact is not None:
            return default_display_name(self.contact.name)
        return ""


def default_display_name(full_name: str) -> str:
    """First name and the first letter of the last: "Sarah Jones" -> "Sarah J."."""
    parts = full_name.split()
    if not parts:
        return ""
    shown = parts[0] if len(parts) == 1 else f"{parts[0]} {parts[-1][0]}."
    return shown[:MAX_DISPLAY_NAME]


def commenter_for_contact(session: Session, contact: Contact) -> Commenter:
    """The contact's commenter row, made on first use (two first comments at once: one row)."""
    found = session.scalar(select(Commenter).where(Commenter.contact_id == contact.id))
    if found is not None:
        return found
    row = Commenter(
        contact_id=contact.id,
        display_name=default_display_name(contact.name),
        created_at=now_of(session),
        confirmed_at=now_of(session),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = session.scalar(select(Commenter).where(Commenter.contact_id == contact.id))
        assert found is not None
        return found
    return row


def _commenter_for_email(session: Session, address: str) -> Commenter:
    found = session.scalar(select(Commenter).where(Commenter.email == address))
    if found is not None:
        return found
    row = Commenter(email=address, display_name="", created_at=now_of(session))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = session.scalar(select(Commenter).where(Commenter.email == address))
        assert found is not None
        return found
    return row


def address_of(session: Session, commenter: Commenter) -> str | None:
    """Where to email a commenter: their confirmed address, or their contact's."""
    if commenter.email:
        return commenter.email
    if commenter.contact_id is not None:
        contact = session.get(Contact, commenter.contact_id)
        return contact.email if contact is not None else None
    return None


def comment_link(settings: Settings, token: str) -> str:
    return settings.base_url.rstrip("/") + LINK_PATH + token


def request_link(session: Session, settings: Settings, email: str, next_path: str) -> None:
    """Email a way in to `email`: the register's sign-in link (back to the post) for a parent
    or carer on it; a commenter link for anyone else when the school lets anyone comment; else
    the register's "not on our list" email. The caller has counted the attempt."""
    address = normalised_address(email)
    contact = sign_ins.contact_for_email(session, address)
    if contact is not None or who_may_comment(session) != WhoMayComment.anyone:
        sign_ins.request_link(session, settings, address, next_path=next_path)
        return
    commenter = _commenter_for_email(session, address)
    token = COMMENTER_LINKS.issue(
        session, LIFETIMES, commenter_id=commenter.id, next_path=sign_ins.safe_next(next_path)
    )
    school = school_of(session)
    message = render_wording(
        session,
        "comment-link",
        {"private_link": SECRET_PLACEHOLDER, "link_minutes": str(LINK_MINUTES)},
        school=school,
    )
    queue_mail(
        session,
        to=address,
        subject=message.subject,
        body_text=message.body + f"\n\n{school.name}\n{school.contact_phone}\n",
        related=("commenter", str(commenter.id)),
        sealed_secret=seal(settings.secret_key, comment_link(settings, token)),
    )
    record_event(
        session,
        subject_type="commenter",
        subject_id=commenter.id,
        tag=LINK_SENT_TAG,
        actor=Actor.system(),
    )


def waiting_link(session: Session, token: str) -> CommenterLink | None:
    return COMMENTER_LINKS.waiting(session, token)


def use_link(session: Session, token: str) -> CommenterLink | None:
    """Use the link once (a conditional update: of two uses at once exactly one wins); the
    commenter's address is then confirmed and the row is their session."""
    row = COMMENTER_LINKS.use(session, token)
    if row is None:
        return None
    session.execute(
        update(Commenter)
        .where(Commenter.id == row.commenter_id, Commenter.confirmed_at.is_(None))  # type: ignore[union-attr]
        .values(confirmed_at=row.used_at)
        .execution_options(synchronize_session=False)
    )
    record_event(
        session,
        subject_type="commenter",
        subject_id=row.commenter_id,
        tag=CONFIRMED_TAG,
        actor=Actor.parent("Commenter"),
    )
    return row


def commenter_of(session: Session, row: CommenterLink) -> Commenter | None:
    """Whose a live session row is (`COMMENTER_LINKS.live` has checked it lasts)."""
    return session.get(Commenter, row.commenter_id)
