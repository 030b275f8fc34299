"""Asking parents again when their answers lapse, and forgetting what the privacy notice says
we forget (sign-in links after 30 days, a leaver's answers a year after they left): the daily
`portal consent-invitations` command.

Answers last as long as the school's validity setting says (`services.answers`); a lapsed answer
counts as no. Each parent or carer with parental responsibility and an email address whose latest
answer for a pupil on roll has lapsed is emailed once per lapse: the `consent_invitation` row for
(contact, pupil, period) is unique, so running the command again, or twice at once, sends nothing
more. One email per contact, naming every child it is about, with the link to the photos page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from portal.clock import school_today
from portal.config import Settings
from portal.consent.models import (
    ConsentInvitation,
    ConsentRecord,
    Contact,
    ParentSignIn,
    Pupil,
    PupilContact,
)
from portal.consent.services.answers import Validity, _academic_year, _key_stage, is_current
from portal.consent.services.flags import settings_of
from portal.consent.services.online import send_email
from portal.consent.services.purposes import purposes
from portal.db import now_of
from portal.domains import pupil_consent_changed

SIGN_IN_KEPT_DAYS = 30


LEAVERS_ANSWERS_KEPT_DAYS = 365


@dataclass
class InvitationReport:
    emailed: int = 0
    links_forgotten: int = 0
    answers_forgotten: int = 0
    pupils_checked: int = 0


def period_of(pupil: Pupil, validity: str, day: object) -> str | None:
    """The validity period a day falls in for this pupil (None: answers never lapse)."""
    if validity == Validity.while_at_school:
        return None
    if validity == Validity.key_stage:
        return f"stage-{_key_stage(pupil.date_of_birth, day)}"  # type: ignore[arg-type]
    return f"year-{_academic_year(day)}"  # type: ignore[arg-type]


def _children(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def send_invitations(session: Session, settings: Settings) -> int:
    """Email every parent whose answers lapsed and who has not been asked again for this lapse;
    how many emails were queued. The caller commits."""
    now = now_of(session)
    today = school_today(now)
    validity = settings_of(session).validity
    active = {p.id: p for p in purposes(session)}
    reasking = {p.id: p for p in active.values() if p.reask_from_version}
    if validity == Validity.while_at_school and not reasking:
        return 0
    statement = (
        select(ConsentRecord, Pupil, Contact)
        .join(Pupil, Pupil.id == ConsentRecord.pupil_id)
        .join(Contact, Contact.id == ConsentRecord.contact_id)
        .join(
            PupilContact,
            (PupilContact.pupil_id == ConsentRecord.pupil_id)
            & (PupilContact.contact_id == ConsentRecord.contact_id),
        )
        .where(
            Pupil.on_roll,
            PupilContact.current,
            PupilContact.parental_responsibility,
            Contact.email.is_not(None),  # type: ignore[union-attr]
            ConsentRecord.given_at <= now,
        )
        .order_by(ConsentRecord.given_at, ConsentRecord.id)
    )
    latest: dict[tuple[int, int, int], tuple[ConsentRecord, Pupil, Contact]] = {}
    for record, pupil, contact in session.execute(statement):
        if record.purpose_id in active:
            latest[(pupil.id, contact.id, record.purpose_id)] = (record, pupil, contact)
    # Per contact: each pupil to ask again, with the "period" that asking is for: the validity
    # period when the answer lapsed, or the wording version the school asked again from.
    lapsed: dict[int, tuple[Contact, dict[int, tuple[Pupil, str | None]]]] = {}
    for record, pupil, contact in latest.values():
        purpose = active[record.purpose_id]
        if not is_current(record, pupil, validity, today):
            period = period_of(pupil, validity, today)
        elif record.wording_version < (purpose.reask_from_version or 0):
            period = f"wording-{purpose.id}-v{purpose.reask_from_version}"[:20]
        else:
            continue
        pupils = lapsed.setdefault(contact.id, (contact, {}))[1]  # type: ignore[index]
        if pupil.id not in pupils or pupils[pupil.id][1] is None:  # type: ignore[index]
            pupils[pupil.id] = (pupil, period)  # type: ignore[index]
    emailed = 0
    for contact, pupils in lapsed.values():
        asked = []
        for pupil, period in sorted(pupils.values(), key=lambda p: p[0].first_name):
            if period is None:
                continue
            try:
                with session.begin_nested():
                    session.add(
                        ConsentInvitation(
                            contact_id=contact.id, pupil_id=pupil.id, period=period, sent_at=now
                        )
                    )
                    session.flush()
            except IntegrityError:
                continue  # asked already for this lapse
            asked.append(pupil.first_name)
        if asked:
            send_email(
                session, settings, contact, "consent-ask-again", {"children": _children(asked)}
            )
            emailed += 1
    return emailed


def forget_old_links(session: Session) -> int:
    """Delete sign-in links (and the sessions they started) older than 30 days, as the privacy
    notice says. The caller commits."""
    cutoff = now_of(session) - timedelta(days=SIGN_IN_KEPT_DAYS)
    return session.execute(
        delete(ParentSignIn)
        .where(ParentSignIn.created_at < cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount


def forget_leavers_answers(session: Session) -> int:
    """Delete the answers (and invitations) of pupils who left more than a year ago: the privacy
    notice keeps photo consent "while your child is at the school, then 1 year". The caller
    commits."""
    cutoff = school_today(now_of(session)) - timedelta(days=LEAVERS_ANSWERS_KEPT_DAYS)
    gone = select(Pupil.id).where(
        Pupil.on_roll.is_(False),  # type: ignore[attr-defined]
        Pupil.left_on.is_not(None),  # type: ignore[union-attr]
        Pupil.left_on < cutoff,  # type: ignore[operator]
    )
    session.execute(
        delete(ConsentInvitation)
        .where(ConsentInvitation.pupil_id.in_(gone))  # type: ignore[attr-defined]
        .execution_options(synchronize_session=False)
    )
    return session.execute(
        delete(ConsentRecord)
        .where(ConsentRecord.pupil_id.in_(gone))  # type: ignore[attr-defined]
        .execution_options(synchronize_session=False)
    ).rowcount


def tell_of_time_passing(session: Session) -> int:
    """Answers lapse with time (a new school year or key stage, a pupil turning 12 when pupils
    are asked too) with nothing recorded: tell the other domains about every pupil on the
    register (a news post showing one whose answer lapsed is flagged), and about those who left,
    whom an import before this check existed may not have told them of. Telling them again about
    a pupil whose check has not changed does nothing (a warning is never sent twice). How many
    pupils were told of. The caller commits."""
    every = list(session.scalars(select(Pupil.id)))
    pupil_consent_changed(session, every, now_of(session))
    return len(every)


def daily(session: Session, settings: Settings) -> InvitationReport:
    return InvitationReport(
        emailed=send_invitations(session, settings),
        links_forgotten=forget_old_links(session),
        answers_forgotten=forget_leavers_answers(session),
        pupils_checked=tell_of_time_passing(session),
    )
