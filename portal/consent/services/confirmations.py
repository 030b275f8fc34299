"""Parents confirming what they read; staff seeing who has, and reminding who has not.

- `confirm` records that the signed-in contact read a document's current version (only ever
  added; the same version twice is one record). Confirming the photo guidance sends at once the
  details of every event waiting on it (`events.release_waiting`).
- `class_status` lists, for one class, every current contact of its pupils on roll with when
  they confirmed each document's current version.
- `remind_class` / `remind_event` email those who have not confirmed, one email per contact.
  The same scope (a document for a class, or an event) is reminded at most once per
  `consent_settings.confirmation_reminder_days`: its `ReminderClaim` row is taken by a
  conditional update (or its first insert), so two presses at once send once, and a refusal
  says when the last reminder went. Each sending is a `ConfirmationReminder` row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.config import Settings
from portal.consent.models import (
    Confirmation,
    ConfirmationReminder,
    ConsentSettings,
    Contact,
    Document,
    InvitationStatus,
    Pupil,
    PupilContact,
    ReminderClaim,
    SchoolEvent,
)
from portal.consent.services import documents, events
from portal.consent.services.flags import settings_of
from portal.db import now_of
from portal.history import Actor, record_event

CONFIRMED_TAG = "parent:confirmed"
REMINDED_TAG = "confirmation:reminded"
VERSION_TAG = "photo-guidance:version"
# Who raises the photo guidance's version (every parent is then asked again).
VERSION_ROLES = (Role.head, Role.admin)


class ConfirmRefused(Exception):
    """The confirmation cannot be recorded; the message says what to do."""


class ReminderRefused(Exception):
    """The reminder cannot be sent now; the message says why (and when the last one went)."""


@dataclass(frozen=True)
class Confirmed:
    confirmation: Confirmation
    new: bool
    events_sent: list[SchoolEvent] = field(default_factory=list)


def confirm(
    session: Session,
    settings: Settings,
    contact: Contact,
    document: Document,
    shown_version: str,
) -> Confirmed:
    """Record that `contact` read `document` at the version they were shown, which must be the
    current one. The caller commits."""
    current = documents.current_version(session, document)
    if current is None:
        raise ConfirmRefused("There is nothing to confirm yet. Please try again later")
    if shown_version != current:
        raise ConfirmRefused(
            "This page changed while you were reading it. Read it again, then confirm"
        )
    existing = documents.confirmation_of(session, contact, document, current)
    if existing is not None:
        return Confirmed(existing, new=False)
    confirmation = Confirmation(
        contact_id=contact.id,  # type: ignore[arg-type]
        document=document.value,
        version=current,
        confirmed_at=now_of(session),
    )
    try:
        with session.begin_nested():
            session.add(confirmation)
            session.flush()
    except IntegrityError:  # the same confirmation at the same moment (two clicks)
        again = documents.confirmation_of(session, contact, document, current)
        assert again is not None
        return Confirmed(again, new=False)
    record_event(
        session,
        subject_type="contact",
        subject_id=contact.id,
        tag=CONFIRMED_TAG,
        actor=Actor.parent(),
        to_value=f"{document.value} {current}",
    )
    sent = []
    if document is Document.photo_guidance:
        sent = events.release_waiting(session, settings, contact)
    return Confirmed(confirmation, new=True, events_sent=sent)


def raise_guidance_version(session: Session, user: StaffUser, shown_version: int) -> int:
    """The school changed the photo guidance: every parent is asked to confirm again. A
    conditional update from the version the page showed, so two presses raise it once."""
    if not user.has_role(*VERSION_ROLES):
        raise ConfirmRefused("Only the head teacher or an admin can change the guidance version")
    row = session.scalar(select(ConsentSettings).order_by(ConsentSettings.id))
    if row is None:
        row = ConsentSettings()
        session.add(row)
        session.flush()
    raised = session.execute(
        update(ConsentSettings)
        .where(
            ConsentSettings.id == row.id,
            ConsentSettings.photo_guidance_version == shown_version,
        )
        .values(photo_guidance_version=shown_version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if raised != 1:
        raise ConfirmRefused(
            "Someone else changed the guidance version a moment ago. Check the page again"
        )
    session.refresh(row)
    record_event(
        session,
        subject_type="consent_settings",
        subject_id=row.id,
        tag=VERSION_TAG,
        actor=Actor.staff(user),
        from_value=str(shown_version),
        to_value=str(shown_version + 1),
    )
    return shown_version + 1


# ---------------------------------------------------------------- who has confirmed


@dataclass(frozen=True)
class FamilyLine:
    """One contact of a class's pupils: their children in it and, per document, when they
    confirmed its current version (missing when they have not)."""

    contact: Contact
    children: list[Pupil]
    email: str | None
    confirmed: dict[Document, datetime]


@dataclass(frozen=True)
class DocumentCount:
    document: Document
    version: str | None
    confirmed: int
    total: int

    @property
    def not_confirmed(self) -> int:
        return self.total - self.confirmed


@dataclass(frozen=True)
class ClassStatus:
    class_name: str
    lines: list[FamilyLine]
    counts: list[DocumentCount]


def class_status(session: Session, class_name: str) -> ClassStatus:
    statement = (
        select(Contact, Pupil)
        .join(PupilContact, PupilContact.contact_id == Contact.id)
        .join(Pupil, Pupil.id == PupilContact.pupil_id)
        .where(PupilContact.current, Pupil.on_roll, Pupil.class_name == class_name)
        .order_by(Contact.name, Contact.id, Pupil.legal_last_name, Pupil.legal_first_name)
    )
    found: dict[int, tuple[Contact, list[Pupil]]] = {}
    for contact, pupil in session.execute(statement):
        found.setdefault(contact.id, (contact, []))[1].append(pupil)  # type: ignore[index]
    when: dict[Document, dict[int, datetime]] = {}
    counts = []
    for document in Document:
        version = documents.current_version(session, document)
        when[document] = documents.confirmed_at(session, found.keys(), document, version)
        counts.append(DocumentCount(document, version, len(when[document]), len(found)))
    lines = [
        FamilyLine(
            contact,
            children,
            events.email_of(contact),
            {d: when[d][cid] for d in Document if cid in when[d]},
        )
        for cid, (contact, children) in found.items()
    ]
    return ClassStatus(class_name, lines, counts)


# ---------------------------------------------------------------- reminders


def _interval(session: Session) -> timedelta:
    return timedelta(days=max(settings_of(session).confirmation_reminder_days, 0))


def last_reminder(session: Session, scope: str) -> ConfirmationReminder | None:
    return session.scalar(
        select(ConfirmationReminder)
        .where(ConfirmationReminder.scope == scope)
        .order_by(ConfirmationReminder.sent_at.desc(), ConfirmationReminder.id.desc())  # type: ignore[attr-defined]
        .limit(1)
    )


def _too_soon(session: Session, scope: str) -> ReminderRefused:
    last = last_reminder(session, scope)
    if last is None:
        return ReminderRefused(
            "A reminder went a moment ago. Check this page before sending another"
        )
    sender = session.get(StaffUser, last.sent_by_user_id)
    by = f" by {sender.name}" if sender is not None else ""
    return ReminderRefused(
        f"A reminder went on {documents.when_words(last.sent_at)}{by}. "
        f"You can send another from {documents.when_words(last.sent_at + _interval(session))}"
    )


def _claim(session: Session, scope: str, now: datetime) -> None:
    """Take the scope's turn: a conditional update of its row, or the row's first insert."""
    claimed = session.execute(
        update(ReminderClaim)
        .where(ReminderClaim.scope == scope, ReminderClaim.last_sent_at <= now - _interval(session))
        .values(last_sent_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed == 1:
        return
    if session.scalar(select(ReminderClaim.scope).where(ReminderClaim.scope == scope)):
        raise _too_soon(session, scope)
    try:
        with session.begin_nested():
            session.add(ReminderClaim(scope=scope, last_sent_at=now))
            session.flush()
    except IntegrityError:
        raise _too_soon(session, scope) from None


def _record(
    session: Session, user: StaffUser, scope: str, document: Document, version: str, emails: int
) -> ConfirmationReminder:
    reminder = ConfirmationReminder(
        scope=scope,
        document=document.value,
        version=version,
        sent_by_user_id=user.id,  # type: ignore[arg-type]
        sent_at=now_of(session),
        emails=emails,
    )
    session.add(reminder)
    session.flush()
    record_event(
        session,
        subject_type="confirmation_reminder",
        subject_id=reminder.id,
        tag=REMINDED_TAG,
        actor=Actor.staff(user),
        to_value=scope,
        detail={"emails": emails, "version": version},
    )
    return reminder


def class_scope(document: Document, class_name: str) -> str:
    return f"{document.value}:class:{class_name}"[:120]


def event_scope(event: SchoolEvent) -> str:
    return f"event:{event.id}"


def remind_class(
    session: Session, settings: Settings, user: StaffUser, document: Document, class_name: str
) -> ConfirmationReminder:
    """Email every contact in the class with an address who has not confirmed the document's
    current version: one email each, naming the document and linking to it."""
    version = documents.current_version(session, document)
    if version is None:
        raise ReminderRefused("There is nothing to confirm yet: publish the policy first")
    status = class_status(session, class_name)
    if not status.lines:
        raise ReminderRefused(f"Class {class_name} has no pupils on roll")
    waiting = [line for line in status.lines if document not in line.confirmed and line.email]
    if not waiting:
        raise ReminderRefused(
            f"Everyone in {class_name} with an email address has confirmed this. "
            "There is nobody to remind"
        )
    scope = class_scope(document, class_name)
    _claim(session, scope, now_of(session))
    for line in waiting:
        events.mail_contact(
            session,
            line.contact,
            "confirmation-reminder",
            {
                "document_name": document.label,
                "document_link": events.link(settings, document.path),
                "photos_link": events.link(settings, "/photos"),
            },
            ("confirmation", document.value),
        )
    return _record(session, user, scope, document, version, len(waiting))


def remind_event(
    session: Session, settings: Settings, user: StaffUser, event: SchoolEvent
) -> ConfirmationReminder:
    """Ask again everyone whose details for the event still wait on the photo guidance."""
    version = documents.current_version(session, Document.photo_guidance) or ""
    waiting = [
        guest
        for guest in events.guests(session, event)
        if guest.invitation is not None
        and guest.invitation.status == InvitationStatus.waiting
        and guest.email
    ]
    if not waiting:
        raise ReminderRefused("Nobody is waiting to confirm for this event")
    scope = event_scope(event)
    _claim(session, scope, now_of(session))
    for guest in waiting:
        events.ask_to_confirm_first(session, settings, guest.contact, event)
    return _record(session, user, scope, Document.photo_guidance, version, len(waiting))


@dataclass(frozen=True)
class SentReminder:
    reminder: ConfirmationReminder
    sent_by: str


def reminders_sent(session: Session, scopes: list[str], limit: int = 20) -> list[SentReminder]:
    """The latest reminders of these scopes, newest first, with who sent them."""
    statement = (
        select(ConfirmationReminder, StaffUser.name)
        .join(StaffUser, StaffUser.id == ConfirmationReminder.sent_by_user_id)  # type: ignore[arg-type]
        .where(ConfirmationReminder.scope.in_(scopes))  # type: ignore[attr-defined]
        .order_by(ConfirmationReminder.sent_at.desc(), ConfirmationReminder.id.desc())  # type: ignore[attr-defined]
        .limit(limit)
    )
    return [SentReminder(reminder, name) for reminder, name in session.execute(statement)]
