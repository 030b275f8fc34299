"""Parents sign in without a password: a one-time link emailed to an address on the register.

- `request_link` answers every address the same way, so nothing tells the asker whether an
  address is on the register: an address on it is sent a link, any other is sent an email
  saying so (to that mailbox only). Both take the same steps: one look-up, one email queued.
- A link is a random token; only its digest is stored. It works once: `use_link` marks it used
  with a conditional update, so two clicks at once sign in once.
- The session a link starts is the same row: `PARENT_LINKS.live` checks it has not ended, been
  idle too long or lasted too long (`lifetimes`), and notes the parent was seen (at most once a
  minute); `signed_in_as` is the contact it is for.

The mechanism (tokens, single use, the session's lifetimes, the signed cookie) is
`portal.one_time_links`, shared with the commenters' links; this module says whose links these
are (`parent_sign_in`, a contact on the register), for how long (the settings) and what is
emailed and recorded around them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from portal.config import Settings
from portal.consent.models import Contact, ParentSignIn, Pupil, PupilContact
from portal.history import Actor, record_event
from portal.mail import SECRET_PLACEHOLDER, normalised_address, queue_mail
from portal.one_time_links import Lifetimes, OneTimeLinks
from portal.school.services import school_of
from portal.sealing import seal
from portal.wording.services import render as render_wording

SIGN_IN_PATH = "/photos/sign-in/"
PHOTOS_PATH = "/photos"
LINK_SENT_TAG = "parent:link:sent"
LINK_PRINTED_TAG = "parent:link:printed"
SIGNED_IN_TAG = "parent:signed-in"
SIGNED_OUT_TAG = "parent:signed-out"

PARENT_LINKS = OneTimeLinks(ParentSignIn)


def lifetimes(settings: Settings) -> Lifetimes:
    """A parent's link and session, as the deployment sets them."""
    return Lifetimes(
        link=timedelta(minutes=settings.parent_link_minutes),
        idle=timedelta(minutes=settings.parent_session_idle_minutes),
        longest=timedelta(hours=settings.parent_session_max_hours),
    )


def contact_for_email(session: Session, email: str) -> Contact | None:
    """The register's contact with this address who is a current contact of a pupil on roll."""
    statement = (
        select(Contact)
        .join(PupilContact, PupilContact.contact_id == Contact.id)
        .join(Pupil, Pupil.id == PupilContact.pupil_id)
        .where(Contact.email == email.lower(), PupilContact.current, Pupil.on_roll)
        .order_by(Contact.id)
        .limit(1)
    )
    return session.scalar(statement)


def photos_link(settings: Settings) -> str:
    return settings.base_url.rstrip("/") + PHOTOS_PATH


# Where a parent may be sent back to after signing in, besides their answers: a news post's
# page or its comment page (`portal.moderation`), never another site or any other path.
_NEXT_PATH = re.compile(r"^/news/[a-z0-9](?:[a-z0-9-]{0,118})(?:/comment)?$")


def safe_next(path: str) -> str:
    """`path` when a sign-in may return the parent there (a local /news/... page), else ""."""
    return path if _NEXT_PATH.fullmatch(path or "") else ""


def sign_in_link(settings: Settings, token: str, next_path: str = "") -> str:
    after = f"?next={safe_next(next_path)}" if safe_next(next_path) else ""
    return settings.base_url.rstrip("/") + SIGN_IN_PATH + token + after


def new_link(session: Session, settings: Settings, contact: Contact) -> str:
    """A fresh one-time link for `contact` (its token; only the digest is stored)."""
    token = PARENT_LINKS.issue(session, lifetimes(settings), contact_id=contact.id)
    session.flush()
    return token


def request_link(session: Session, settings: Settings, email: str, next_path: str = "") -> None:
    """Email a sign-in link to `email` if it is on the register, else an email saying it is not.

    The caller has checked the address's form and counted the attempt; what happened is never
    shown to the asker (the same page follows either way)."""
    address = normalised_address(email)
    contact = contact_for_email(session, address)
    school = school_of(session)
    if contact is None:
        message = render_wording(
            session,
            "parent-sign-in-not-on-register",
            {"photos_link": photos_link(settings)},
            school=school,
        )
        queue_mail(
            session,
            to=address,
            subject=message.subject,
            body_text=message.body + f"\n\n{school.name}\n{school.contact_phone}\n",
            related=("parent-sign-in", "unknown"),
        )
        return
    send_link(session, settings, contact, to=address, next_path=next_path)


def send_link(
    session: Session,
    settings: Settings,
    contact: Contact,
    *,
    to: str | None = None,
    next_path: str = "",
) -> None:
    """Queue a fresh sign-in link to the contact's address: sealed in the outbox, so staff who
    read the outbox never see it."""
    token = new_link(session, settings, contact)
    school = school_of(session)
    message = render_wording(
        session,
        "parent-sign-in-link",
        {
            "recipient_name": contact.name,
            "private_link": SECRET_PLACEHOLDER,
            "link_minutes": str(settings.parent_link_minutes),
            "photos_link": photos_link(settings),
        },
        school=school,
    )
    queue_mail(
        session,
        to=to or contact.email or "",
        subject=message.subject,
        body_text=message.body + f"\n\n{school.name}\n{school.contact_phone}\n",
        related=("contact", str(contact.id)),
        sealed_secret=seal(settings.secret_key, sign_in_link(settings, token, next_path)),
    )
    record_event(
        session,
        subject_type="contact",
        subject_id=contact.id,
        tag=LINK_SENT_TAG,
        actor=Actor.system(),
    )


def printed_link(session: Session, settings: Settings, email: str) -> str | None:
    """A fresh sign-in link for an address on the register, to hand over rather than email
    (`portal parent-link`, for the office and the demo); None when it is not on the register."""
    contact = contact_for_email(session, email.strip())
    if contact is None:
        return None
    token = new_link(session, settings, contact)
    record_event(
        session,
        subject_type="contact",
        subject_id=contact.id,
        tag=LINK_PRINTED_TAG,
        actor=Actor("cli", "The portal parent-link command"),
    )
    return sign_in_link(settings, token)


def waiting_link(session: Session, token: str) -> ParentSignIn | None:
    """The link for `token` while it can still be used (not used, not expired), else None."""
    return PARENT_LINKS.waiting(session, token)


def use_link(session: Session, token: str) -> ParentSignIn | None:
    """Use the link once: a conditional update, so of two uses at once exactly one wins. The
    link's row is then the parent's session. None when the link is unknown, used or expired."""
    row = PARENT_LINKS.use(session, token)
    if row is None:
        return None
    record_event(
        session,
        subject_type="contact",
        subject_id=row.contact_id,
        tag=SIGNED_IN_TAG,
        actor=Actor.parent(),
    )
    return row


@dataclass(frozen=True)
class SignedIn:
    contact: Contact
    sign_in: ParentSignIn


def signed_in_as(session: Session, row: ParentSignIn) -> SignedIn | None:
    """The contact a live session row is for (`PARENT_LINKS.live` has checked it lasts)."""
    contact = session.get(Contact, row.contact_id)
    return SignedIn(contact, row) if contact is not None else None


def end_session(session: Session, sign_in: ParentSignIn) -> None:
    """Sign out: the session ends now, whatever the cookie says."""
    PARENT_LINKS.end(session, sign_in)
    record_event(
        session,
        subject_type="contact",
        subject_id=sign_in.contact_id,
        tag=SIGNED_OUT_TAG,
        actor=Actor.parent(),
    )


@dataclass(frozen=True)
class Child:
    """A pupil as their parent's page shows them: whether this contact may answer for them."""

    pupil: Pupil
    relationship: str
    may_answer: bool


def children_of(session: Session, contact: Contact) -> list[Child]:
    """The contact's children on roll now, by the register: never a pupil who has left, never
    another family's. `may_answer` only with parental responsibility."""
    statement = (
        select(Pupil, PupilContact)
        .join(PupilContact, PupilContact.pupil_id == Pupil.id)
        .where(PupilContact.contact_id == contact.id, PupilContact.current, Pupil.on_roll)
        .order_by(Pupil.date_of_birth.desc(), Pupil.id)  # type: ignore[attr-defined]
    )
    return [
        Child(pupil, link.relationship, link.parental_responsibility)
        for pupil, link in session.execute(statement)
    ]
