"""School events whose details go to families, maybe only after they confirm the photo guidance.

Staff create an event (title, date, place, the details for families, which classes or year
groups, whether the photo guidance must be confirmed first), then send it, once: a conditional
update on `sent_at`, so two presses at once send once. Every current contact with an email
address of a pupil on roll in those classes or year groups gets an `EventInvitation`: when the
event needs no confirmation, or they have confirmed the guidance's current version, the details
go at once (`event-details`); otherwise a request to confirm first (`event-confirm-first`) and
the invitation waits. Confirming the guidance later sends the details of every event waiting on
it (`release_waiting`), each once: the move from waiting to sent is a conditional update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select, update
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.calendar import format_date
from portal.clock import school_today
from portal.config import Settings
from portal.consent.models import (
    Contact,
    Document,
    EventInvitation,
    InvitationStatus,
    Pupil,
    PupilContact,
    SchoolEvent,
)
from portal.consent.services import documents
from portal.db import now_of
from portal.history import Actor, record_event
from portal.mail import InvalidAddress, normalised_address, queue_mail
from portal.school.services import school_of
from portal.wording.services import render as render_wording

CREATED_TAG = "event:created"
SENT_TAG = "event:sent"
DETAILS_TAG = "event:details:sent"
MAX_TITLE = 120
MAX_PLACE = 200
MAX_DETAILS = 5000


class EventRefused(Exception):
    """The event cannot be sent now; the message says why."""


def email_of(contact: Contact) -> str | None:
    """The contact's address if it can be sent to, else None."""
    if not contact.email:
        return None
    try:
        return normalised_address(contact.email)
    except InvalidAddress:
        return None


def mail_contact(
    session: Session,
    contact: Contact,
    key: str,
    values: Mapping[str, str],
    related: tuple[str, str],
) -> None:
    """Queue one email in the school's wording to a contact (the caller checked the address)."""
    school = school_of(session)
    message = render_wording(
        session, key, {"recipient_name": contact.name, **values}, school=school
    )
    queue_mail(
        session,
        to=email_of(contact) or "",
        subject=message.subject,
        body_text=message.body + f"\n\n{school.name}\n{school.contact_phone}\n",
        related=related,
    )


def link(settings: Settings, path: str) -> str:
    return settings.base_url.rstrip("/") + path


def year_groups(session: Session) -> list[str]:
    """The year groups of pupils on roll, in order."""
    statement = select(Pupil.year_group).where(Pupil.on_roll).distinct().order_by(Pupil.year_group)
    return list(session.scalars(statement))


def create_event(
    session: Session,
    user: StaffUser,
    *,
    title: str,
    held_on: date,
    place: str,
    details: str,
    classes: Sequence[str],
    year_groups: Sequence[str],
    needs_photo_guidance: bool,
) -> SchoolEvent:
    """Record the event (checked by its form); nothing is sent until `send_event`."""
    event = SchoolEvent(
        title=title,
        held_on=held_on,
        place=place,
        details=details,
        classes="\n".join(classes),
        year_groups="\n".join(year_groups),
        needs_photo_guidance=needs_photo_guidance,
        created_by_user_id=user.id,  # type: ignore[arg-type]
    )
    session.add(event)
    session.flush()
    record_event(
        session,
        subject_type="school_event",
        subject_id=event.id,
        tag=CREATED_TAG,
        actor=Actor.staff(user),
        to_value=title[:80],
    )
    return event


@dataclass(frozen=True)
class Guest:
    """A family contact an event is for: their children in it, and where they are."""

    contact: Contact
    children: list[Pupil]
    email: str | None
    confirmed_at: datetime | None
    invitation: EventInvitation | None


def audience(session: Session, event: SchoolEvent) -> list[Contact]:
    """Current contacts of pupils on roll in the event's classes or year groups."""
    return [guest.contact for guest in guests(session, event)]


def guests(session: Session, event: SchoolEvent) -> list[Guest]:
    """Everyone the event is for, by name, with whether they confirmed the photo guidance's
    current version and their invitation (None before the event is sent)."""
    chosen = []
    if event.class_list:
        chosen.append(Pupil.class_name.in_(event.class_list))  # type: ignore[attr-defined]
    if event.year_group_list:
        chosen.append(Pupil.year_group.in_(event.year_group_list))  # type: ignore[attr-defined]
    if not chosen:
        return []
    statement = (
        select(Contact, Pupil)
        .join(PupilContact, PupilContact.contact_id == Contact.id)
        .join(Pupil, Pupil.id == PupilContact.pupil_id)
        .where(PupilContact.current, Pupil.on_roll, or_(*chosen))
        .order_by(Contact.name, Contact.id, Pupil.legal_last_name, Pupil.legal_first_name)
    )
    found: dict[int, tuple[Contact, list[Pupil]]] = {}
    for contact, pupil in session.execute(statement):
        found.setdefault(contact.id, (contact, []))[1].append(pupil)  # type: ignore[index]
    version = documents.current_version(session, Document.photo_guidance)
    confirmed = documents.confirmed_at(session, found.keys(), Document.photo_guidance, version)
    invitations = {
        invitation.contact_id: invitation
        for invitation in session.scalars(
            select(EventInvitation).where(EventInvitation.event_id == event.id)
        )
    }
    return [
        Guest(contact, children, email_of(contact), confirmed.get(cid), invitations.get(cid))
        for cid, (contact, children) in found.items()
    ]


def _details_values(settings: Settings, event: SchoolEvent) -> dict[str, str]:
    return {
        "event_title": event.title,
        "event_date": format_date(event.held_on),
        "event_place": event.place,
        "event_details": event.details,
        "guidance_link": link(settings, Document.photo_guidance.path),
    }


def _send_details(
    session: Session, settings: Settings, contact: Contact, event: SchoolEvent
) -> None:
    mail_contact(
        session,
        contact,
        "event-details",
        _details_values(settings, event),
        ("school_event", str(event.id)),
    )


def ask_to_confirm_first(
    session: Session, settings: Settings, contact: Contact, event: SchoolEvent
) -> None:
    mail_contact(
        session,
        contact,
        "event-confirm-first",
        {
            "event_title": event.title,
            "event_date": format_date(event.held_on),
            "guidance_link": link(settings, Document.photo_guidance.path),
            "photos_link": link(settings, "/photos"),
        },
        ("school_event", str(event.id)),
    )


@dataclass(frozen=True)
class EventSent:
    details: int
    waiting: int
    no_email: int


def send_event(
    session: Session, settings: Settings, user: StaffUser, event: SchoolEvent
) -> EventSent:
    """Send the event once (a conditional update: a second press at the same moment is refused),
    to every guest with an email address. The caller commits."""
    now = now_of(session)
    if event.held_on < school_today(now):
        raise EventRefused("This event has already happened, so its details cannot be sent")
    claimed = session.execute(
        update(SchoolEvent)
        .where(SchoolEvent.id == event.id, SchoolEvent.sent_at.is_(None))  # type: ignore[union-attr]
        .values(sent_at=now, sent_by_user_id=user.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        session.refresh(event)
        when = documents.when_words(event.sent_at) if event.sent_at else "a moment ago"
        raise EventRefused(f"This event was already sent, on {when}. It is sent only once")
    details = waiting = no_email = 0
    for guest in guests(session, event):
        if guest.email is None:
            no_email += 1
            continue
        ready = not event.needs_photo_guidance or guest.confirmed_at is not None
        session.add(
            EventInvitation(
                event_id=event.id,  # type: ignore[arg-type]
                contact_id=guest.contact.id,  # type: ignore[arg-type]
                status=InvitationStatus.details_sent if ready else InvitationStatus.waiting,
                details_sent_at=now if ready else None,
            )
        )
        if ready:
            _send_details(session, settings, guest.contact, event)
            details += 1
        else:
            ask_to_confirm_first(session, settings, guest.contact, event)
            waiting += 1
    session.flush()
    session.refresh(event)
    record_event(
        session,
        subject_type="school_event",
        subject_id=event.id,
        tag=SENT_TAG,
        actor=Actor.staff(user),
        detail={"details": details, "waiting": waiting, "no_email": no_email},
    )
    return EventSent(details, waiting, no_email)


def release_waiting(session: Session, settings: Settings, contact: Contact) -> list[SchoolEvent]:
    """Send the contact the details of every sent event, not yet held, that waits on their
    confirmation of the photo guidance: one email per event, each once (a conditional update
    from waiting to sent). The caller has recorded the confirmation and commits."""
    now = now_of(session)
    statement = (
        select(EventInvitation, SchoolEvent)
        .join(SchoolEvent, SchoolEvent.id == EventInvitation.event_id)
        .where(
            EventInvitation.contact_id == contact.id,
            EventInvitation.status == InvitationStatus.waiting,
            SchoolEvent.held_on >= school_today(now),
        )
        .order_by(SchoolEvent.held_on, SchoolEvent.id)
    )
    sent = []
    for invitation, event in session.execute(statement).all():
        moved = session.execute(
            update(EventInvitation)
            .where(
                EventInvitation.id == invitation.id,
                EventInvitation.status == InvitationStatus.waiting,
            )
            .values(status=InvitationStatus.details_sent, details_sent_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved != 1 or email_of(contact) is None:
            continue
        _send_details(session, settings, contact, event)
        record_event(
            session,
            subject_type="school_event",
            subject_id=event.id,
            tag=DETAILS_TAG,
            actor=Actor.parent(),
            detail={"contact_id": contact.id},
        )
        sent.append(event)
    return sent


def events_of(session: Session, limit: int = 50) -> list[SchoolEvent]:
    """The latest events first (by date), for the staff list."""
    statement = (
        select(SchoolEvent)
        .order_by(SchoolEvent.held_on.desc(), SchoolEvent.id.desc())  # type: ignore[attr-defined]
        .limit(limit)
    )
    return list(session.scalars(statement))


def waiting_for(session: Session, contact: Contact) -> list[SchoolEvent]:
    """Events not yet held whose details wait on this contact's confirmation."""
    statement = (
        select(SchoolEvent)
        .join(EventInvitation, EventInvitation.event_id == SchoolEvent.id)
        .where(
            EventInvitation.contact_id == contact.id,
            EventInvitation.status == InvitationStatus.waiting,
            SchoolEvent.held_on >= school_today(now_of(session)),
        )
        .order_by(SchoolEvent.held_on, SchoolEvent.id)
    )
    return list(session.scalars(statement))


def sent_since(session: Session, contact: Contact, moment: datetime) -> list[SchoolEvent]:
    """Events whose details went to this contact at or after `moment` (what a confirmation
    just released)."""
    statement = (
        select(SchoolEvent)
        .join(EventInvitation, EventInvitation.event_id == SchoolEvent.id)
        .where(
            EventInvitation.contact_id == contact.id,
            EventInvitation.status == InvitationStatus.details_sent,
            EventInvitation.details_sent_at >= moment,  # type: ignore[operator]
        )
        .order_by(SchoolEvent.held_on, SchoolEvent.id)
    )
    return list(session.scalars(statement))
