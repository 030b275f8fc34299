"""A parent's own answers, given online, and the emails every answer may bring.

A parent with parental responsibility answers yes or no per purpose for each of their children
on roll; each answer is a new `ConsentRecord` (how: online, by that contact, with the wording
version the page showed). What the parent sees is only their family's answers, never the
school's decision: a restricted pupil's page is the same as any other's.

After any answers (online, or on paper or by phone, entered by staff) `tell_parents` emails:
- the contact who took back a yes (a withdrawal, which works at once), to confirm it;
- every parent with parental responsibility whose current answers for a purpose disagree with
  another's (the no wins), so both know.
Every one of these emails carries the link to the photos page, where answers change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from portal.calendar import format_date
from portal.clock import school_today
from portal.config import Settings
from portal.consent.models import AnswerHow, ConsentRecord, Contact, Pupil, PupilContact, Purpose
from portal.consent.services.answers import (
    AnswerRefused,
    counts_now,
    pupil_is_asked,
    responsible_contacts,
)
from portal.consent.services.flags import settings_of
from portal.consent.services.sign_in import photos_link
from portal.db import now_of
from portal.domains import pupil_consent_changed
from portal.history import Actor, record_event
from portal.mail import queue_mail
from portal.school.services import school_of
from portal.wording.services import render as render_wording

ONLINE_TAG = "pupil:consent:online"


@dataclass(frozen=True)
class OnlineAnswer:
    purpose: Purpose
    answer: bool
    naming: bool | None
    pupil_agreed: bool | None
    version_shown: int


@dataclass(frozen=True)
class FamilyAnswer:
    """One purpose on a parent's page: their own latest answer and whether another parent's
    current answer is no. Built from the records alone (never the flag or the decision)."""

    purpose: Purpose
    mine: ConsentRecord | None
    mine_current: bool
    other_said_no: bool


def may_answer(session: Session, contact: Contact, pupil: Pupil) -> bool:
    """Only a current contact with parental responsibility, for a pupil on roll."""
    if not pupil.on_roll:
        return False
    link = session.scalar(
        select(PupilContact.id).where(
            PupilContact.pupil_id == pupil.id,
            PupilContact.contact_id == contact.id,
            PupilContact.current,
            PupilContact.parental_responsibility,
        )
    )
    return link is not None


def lock_pupil(session: Session, pupil: Pupil) -> None:
    """One set of answers at a time per pupil: a second parent answering at the same moment
    waits, then reads this one's answers, so a disagreement is seen and both are told.
    FOR NO KEY UPDATE: it does not conflict with the key-share locks that inserting records
    (foreign keys to the pupil) take, so two answerers cannot deadlock (PostgreSQL; SQLite
    writes one transaction at a time anyway)."""
    session.execute(select(Pupil.id).where(Pupil.id == pupil.id).with_for_update(key_share=True))


def asks_pupil(session: Session, pupil: Pupil, at: datetime) -> bool:
    return pupil_is_asked(pupil, settings_of(session).ask_pupils_12_and_over, school_today(at))


def _latest_by_contact(
    session: Session, pupil: Pupil, at: datetime
) -> dict[tuple[int, int], ConsentRecord]:
    """(purpose id, contact id) -> that contact's latest record for the pupil."""
    statement = (
        select(ConsentRecord)
        .where(ConsentRecord.pupil_id == pupil.id, ConsentRecord.given_at <= at)
        .order_by(ConsentRecord.given_at, ConsentRecord.id)
    )
    return {(r.purpose_id, r.contact_id): r for r in session.scalars(statement)}


def family_answers(
    session: Session, contact: Contact, pupil: Pupil, purposes: Sequence[Purpose]
) -> list[FamilyAnswer]:
    now = now_of(session)
    today = school_today(now)
    validity = settings_of(session).validity
    latest = _latest_by_contact(session, pupil, now)
    others = responsible_contacts(session, [pupil.id]).get(pupil.id, set()) - {contact.id}  # type: ignore[arg-type]
    shown = []
    for purpose in purposes:
        mine = latest.get((purpose.id, contact.id))  # type: ignore[arg-type]
        other_no = any(
            not record.answer and counts_now(record, pupil, purpose, validity, today)
            for other in others
            if (record := latest.get((purpose.id, other))) is not None  # type: ignore[arg-type]
        )
        shown.append(
            FamilyAnswer(
                purpose,
                mine,
                mine is not None and counts_now(mine, pupil, purpose, validity, today),
                other_no,
            )
        )
    return shown


class WordingChanged(AnswerRefused):
    """The wording of a purpose changed after the page was shown; `purpose` says which."""

    def __init__(self, purpose: Purpose) -> None:
        super().__init__(
            f"The words for {purpose.name.lower()} have changed since you opened this page. "
            "Read them again, then answer"
        )
        self.purpose = purpose


def record_online(
    session: Session,
    settings: Settings,
    contact: Contact,
    pupil: Pupil,
    answers: Sequence[OnlineAnswer],
) -> list[ConsentRecord]:
    """Add one record per answer, given now, online, by the signed-in contact, with the wording
    version they were shown (refused if it is no longer the purpose's current one); then email
    what the answers call for (`tell_parents`)."""
    if not may_answer(session, contact, pupil):
        raise AnswerRefused("You cannot answer for this child")
    if not answers:
        raise AnswerRefused("Answer at least one question")
    for answer in answers:
        if answer.version_shown != answer.purpose.version:
            raise WordingChanged(answer.purpose)
    lock_pupil(session, pupil)
    now = now_of(session)
    asked = asks_pupil(session, pupil, now)
    made = []
    for answer in answers:
        record = ConsentRecord(
            pupil_id=pupil.id,
            purpose_id=answer.purpose.id,
            contact_id=contact.id,
            answer=answer.answer,
            naming=answer.naming if answer.answer and answer.purpose.asks_naming else None,
            given_at=now,
            how=AnswerHow.online,
            entered_by_user_id=None,
            wording_version=answer.purpose.version,
            pupil_agreed=answer.pupil_agreed if answer.answer and asked else None,
        )
        session.add(record)
        made.append(record)
    session.flush()
    record_event(
        session,
        subject_type="pupil",
        subject_id=pupil.id,
        tag=ONLINE_TAG,
        actor=Actor.parent(contact.name),
        to_value=AnswerHow.online,
        detail={"records": [r.id for r in made], "contact_id": contact.id},
    )
    pupil_consent_changed(session, [pupil.id], now)  # type: ignore[list-item]
    tell_parents(session, settings, pupil, made)
    return made


def _uses(purposes: Sequence[Purpose]) -> str:
    return "\n".join(f"- {purpose.name}" for purpose in purposes)


def send_email(
    session: Session, settings: Settings, contact: Contact, key: str, values: dict[str, str]
) -> None:
    if not contact.email:
        return
    school = school_of(session)
    message = render_wording(
        session,
        key,
        {"recipient_name": contact.name, "photos_link": photos_link(settings), **values},
        school=school,
    )
    queue_mail(
        session,
        to=contact.email,
        subject=message.subject,
        body_text=message.body + f"\n\n{school.name}\n{school.contact_phone}\n",
        related=("contact", str(contact.id)),
    )


def tell_parents(
    session: Session, settings: Settings, pupil: Pupil, made: Sequence[ConsentRecord]
) -> None:
    """The emails these new records call for: a withdrawal's confirmation to whoever withdrew,
    and a note to each parent on either side of a disagreement they are now part of."""
    if not made:
        return
    lock_pupil(session, pupil)
    now = now_of(session)
    today = school_today(now)
    validity = settings_of(session).validity
    purposes = {p.id: p for p in session.scalars(select(Purpose))}
    ids = {r.id for r in made}
    history: dict[tuple[int, int], list[ConsentRecord]] = {}
    for record in session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.pupil_id == pupil.id, ConsentRecord.given_at <= now)
        .order_by(ConsentRecord.given_at, ConsentRecord.id)
    ):
        history.setdefault((record.purpose_id, record.contact_id), []).append(record)
    withdrawn: dict[int, list[Purpose]] = {}
    for record in made:
        rows = history.get((record.purpose_id, record.contact_id), [])
        earlier = [r for r in rows if r.id not in ids]
        if (
            not record.answer
            and earlier
            and earlier[-1].answer
            and counts_now(earlier[-1], pupil, purposes[record.purpose_id], validity, today)
        ):
            withdrawn.setdefault(record.contact_id, []).append(purposes[record.purpose_id])
    for contact_id, uses in withdrawn.items():
        contact = session.get(Contact, contact_id)
        if contact is not None:
            send_email(
                session,
                settings,
                contact,
                "consent-withdrawn",
                {
                    "child_name": pupil.first_name,
                    "uses": _uses(uses),
                    "withdrawn_on": format_date(today),
                },
            )
    responsible = responsible_contacts(session, [pupil.id]).get(pupil.id, set())  # type: ignore[arg-type]
    disagree: dict[int, list[Purpose]] = {}
    for purpose_id in sorted({r.purpose_id for r in made if r.contact_id in responsible}):
        current = [
            rows[-1]
            for (pid, cid), rows in history.items()
            if pid == purpose_id
            and cid in responsible
            and counts_now(rows[-1], pupil, purposes[purpose_id], validity, today)
        ]
        if {r.answer for r in current} == {True, False}:
            for record in current:
                disagree.setdefault(record.contact_id, []).append(purposes[purpose_id])
    for contact_id, uses in disagree.items():
        contact = session.get(Contact, contact_id)
        if contact is not None:
            send_email(
                session,
                settings,
                contact,
                "consent-parents-disagree",
                {"child_name": pupil.first_name, "uses": _uses(uses)},
            )
