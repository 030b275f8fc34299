"""Consent answers and what they add up to.

Each answer is a new `ConsentRecord`; nothing is changed or deleted. For a pupil and purpose at a
moment, the current answer is worked out from the latest record of each contact who has parental
responsibility now:

- a pupil who has left, or is restricted (a safeguarding flag), is "no" for every purpose;
- answers given before the school's validity period began have lapsed and count as no answer
  (if every answer has lapsed, the reason is "lapsed"); so have answers to a wording older than
  the one from which the school asked parents again (`Purpose.reask_from_version`);
- any current "no" wins over a "yes" (two people with parental responsibility who disagree);
  a "no" after that contact's "yes" is a withdrawal, dated;
- otherwise, a "yes" is yes; the child may be named only when the purpose asks and every "yes"
  said yes to naming too;
- when the school asks pupils aged 12 and over too (`consent_settings.ask_pupils_12_and_over`),
  a pupil of that age must have agreed as well, as a parent told us (`pupil_agreed`): any "the
  pupil said no" is no, and a "yes" nobody asked the pupil about is no until someone does.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import select
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.clock import school_today
from portal.consent.models import AnswerHow, ConsentRecord, Pupil, PupilContact, Purpose
from portal.consent.services import evidence
from portal.consent.services.flags import restricted, settings_of
from portal.db import now_of
from portal.domains import pupil_consent_changed
from portal.history import Actor, record_event

ANSWERS_TAG = "pupil:consent:recorded"


class Validity(enum.StrEnum):
    school_year = "school_year"
    key_stage = "key_stage"
    while_at_school = "while_at_school"


class Why(enum.StrEnum):
    given = "given"
    no_answer = "no_answer"
    refused = "refused"
    withdrawn = "withdrawn"
    lapsed = "lapsed"
    left = "left"
    restricted = "restricted"
    pupil_refused = "pupil_refused"
    pupil_not_asked = "pupil_not_asked"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    why: Why
    may_name: bool = False
    withdrawn_on: date | None = None

    @property
    def words(self) -> str:
        if self.why is Why.withdrawn and self.withdrawn_on is not None:
            return f"Withdrawn on {self.withdrawn_on.day} {self.withdrawn_on:%B %Y}"
        return {
            Why.given: "Consent given",
            Why.no_answer: "No answer yet",
            Why.refused: "Refused",
            Why.withdrawn: "Withdrawn",
            Why.lapsed: "Lapsed: ask again",
            Why.left: "Left the school",
            Why.restricted: "Restricted",
            Why.pupil_refused: "The pupil said no",
            Why.pupil_not_asked: "Ask the pupil too",
        }[self.why]


class Answered(Protocol):
    """What the rules read of an answer: a `ConsentRecord`, or a row of just these columns."""

    contact_id: int
    answer: bool
    naming: bool | None
    given_at: datetime
    wording_version: int
    pupil_agreed: bool | None


def _academic_year(day: date) -> int:
    return day.year if day.month >= 9 else day.year - 1


def _key_stage(born: date, day: date) -> int:
    """The key stage (0 early years .. 5 sixth form) a child born on `born` is in on `day`."""
    year = _academic_year(day) - _academic_year(born) - 5
    for stage, last_year in enumerate((0, 2, 6, 9, 11)):
        if year <= last_year:
            return stage
    return 5


PUPILS_ASKED_FROM_AGE = 12


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def pupil_is_asked(pupil: Pupil, ask_pupils: bool, day: date) -> bool:
    """Whether this pupil must agree too: the school's setting, and aged 12 or over on `day`."""
    return ask_pupils and age_on(pupil.date_of_birth, day) >= PUPILS_ASKED_FROM_AGE


def is_current(record: Answered, pupil: Pupil, validity: str, today: date) -> bool:
    given = school_today(record.given_at)
    if validity == Validity.while_at_school:
        return True
    if validity == Validity.key_stage:
        return _key_stage(pupil.date_of_birth, given) == _key_stage(pupil.date_of_birth, today)
    return _academic_year(given) == _academic_year(today)


def counts_now(
    record: Answered, pupil: Pupil, purpose: Purpose, validity: str, today: date
) -> bool:
    """An answer that still counts: given in the school's validity period, to a wording at or
    after the version the school asked parents again from (settings: "ask parents again")."""
    return is_current(record, pupil, validity, today) and record.wording_version >= (
        purpose.reask_from_version or 0
    )


def decide(
    pupil: Pupil,
    purpose: Purpose,
    records: Sequence[Answered],
    responsible: set[int],
    *,
    is_restricted: bool,
    validity: str,
    at: datetime,
    ask_pupils: bool = False,
) -> Decision:
    """The answer for one pupil and purpose from its records (oldest first): see the module."""
    if not pupil.on_roll:
        return Decision(False, Why.left)
    if is_restricted:
        return Decision(False, Why.restricted)
    today = school_today(at)
    history: dict[int, list[Answered]] = {}
    for record in records:
        if record.contact_id in responsible and record.given_at <= at:
            history.setdefault(record.contact_id, []).append(record)
    if not history:
        return Decision(False, Why.no_answer)
    latest = {contact: rows[-1] for contact, rows in history.items()}
    current = {c: r for c, r in latest.items() if counts_now(r, pupil, purpose, validity, today)}
    if not current:
        return Decision(False, Why.lapsed)
    refusals = [(c, r) for c, r in current.items() if not r.answer]
    if refusals:
        for contact, record in refusals:
            earlier = history[contact][:-1]
            if any(row.answer for row in earlier):
                return Decision(False, Why.withdrawn, withdrawn_on=school_today(record.given_at))
        return Decision(False, Why.refused)
    if pupil_is_asked(pupil, ask_pupils, today):
        agreed = [r.pupil_agreed for r in current.values()]
        if False in agreed:
            return Decision(False, Why.pupil_refused)
        if True not in agreed:
            return Decision(False, Why.pupil_not_asked)
    may_name = purpose.asks_naming and all(r.naming is True for r in current.values())
    return Decision(True, Why.given, may_name=may_name)


def responsible_contacts(session: Session, pupil_ids: Iterable[int]) -> dict[int, set[int]]:
    """Pupil id -> the contacts with parental responsibility on the register now."""
    found: dict[int, set[int]] = {}
    statement = select(PupilContact.pupil_id, PupilContact.contact_id).where(
        PupilContact.pupil_id.in_(list(pupil_ids)),  # type: ignore[attr-defined]
        PupilContact.current,
        PupilContact.parental_responsibility,
    )
    for pupil_id, contact_id in session.execute(statement):
        found.setdefault(pupil_id, set()).add(contact_id)
    return found


def decisions_for(
    session: Session, pupils: Sequence[Pupil], purposes: Sequence[Purpose], at: datetime
) -> dict[tuple[int, int], Decision]:
    """(pupil id, purpose id) -> Decision, for every pupil and purpose given, in four queries.

    Only the purposes asked for are read, and only the columns the rules use, as plain rows: a
    class of 30 with five years of answers is about 1,800 records for all six purposes, and
    building a `ConsentRecord` for each cost more than the rest of a photo check."""
    ids = [p.id for p in pupils if p.id is not None]
    purpose_ids = [p.id for p in purposes if p.id is not None]
    records: dict[tuple[int, int], list[Answered]] = {}
    if ids and purpose_ids:
        statement = (
            select(
                ConsentRecord.pupil_id,
                ConsentRecord.purpose_id,
                ConsentRecord.contact_id,
                ConsentRecord.answer,
                ConsentRecord.naming,
                ConsentRecord.given_at,
                ConsentRecord.wording_version,
                ConsentRecord.pupil_agreed,
            )
            .where(
                ConsentRecord.pupil_id.in_(ids),  # type: ignore[attr-defined]
                ConsentRecord.purpose_id.in_(purpose_ids),  # type: ignore[attr-defined]
            )
            .order_by(ConsentRecord.given_at, ConsentRecord.id)
        )
        for record in session.execute(statement):
            records.setdefault((record.pupil_id, record.purpose_id), []).append(record)  # type: ignore[arg-type]
    responsible = responsible_contacts(session, ids)
    flagged = restricted(session, ids)
    settings = settings_of(session)
    return {
        (pupil.id, purpose.id): decide(  # type: ignore[misc]
            pupil,
            purpose,
            records.get((pupil.id, purpose.id), []),  # type: ignore[arg-type]
            responsible.get(pupil.id, set()),  # type: ignore[arg-type]
            is_restricted=pupil.id in flagged,
            validity=settings.validity,
            at=at,
            ask_pupils=settings.ask_pupils_12_and_over,
        )
        for pupil in pupils
        for purpose in purposes
    }


@dataclass(frozen=True)
class Answer:
    purpose: Purpose
    answer: bool
    naming: bool | None
    # Whether the pupil agreed too, as the parent told us: asked only of pupils aged 12 and over
    # when the school's settings say so (None: not asked).
    pupil_agreed: bool | None = None


class AnswerRefused(Exception):
    """The answers cannot be recorded; the message says why (`field`: the form field it is
    about)."""

    def __init__(self, message: str, field: str = "contact_id") -> None:
        super().__init__(message)
        self.field = field


NEEDS_SCAN = "Add the scanned paper form (a PDF, JPG or PNG file)"
NEEDS_NOTE = "Write a note of the call: who rang, and when"


def record_answers(
    session: Session,
    user: StaffUser,
    pupil: Pupil,
    contact_id: int,
    how: AnswerHow,
    answers: Sequence[Answer],
    *,
    scan_id: int | None = None,
    call_note: str = "",
) -> list[ConsentRecord]:
    """Add one record per answer, as given now by the contact (on paper or by phone, entered by
    `user`), with each purpose's wording version. The contact must be one of the pupil's. Paper
    answers need the scanned form kept for this pupil (`evidence.keep_scan`); phone answers a
    note of the call. Each record points at that evidence."""
    linked = session.scalar(
        select(PupilContact.id).where(
            PupilContact.pupil_id == pupil.id,
            PupilContact.contact_id == contact_id,
            PupilContact.current,
        )
    )
    if linked is None:
        raise AnswerRefused("Choose one of this pupil's parents or carers")
    if not answers:
        raise AnswerRefused("Answer at least one question")
    evidence_id: int | None = None
    if how == AnswerHow.paper:
        scan = evidence.kept_scan(session, pupil, scan_id)
        if scan is None:
            raise AnswerRefused(NEEDS_SCAN, "scan")
        evidence_id = scan.id
    elif how == AnswerHow.phone:
        note = call_note.strip()
        if not note:
            raise AnswerRefused(NEEDS_NOTE, "call_note")
        if len(note) > evidence.MAX_CALL_NOTE:
            raise AnswerRefused(
                f"The note must be {evidence.MAX_CALL_NOTE:,} characters or fewer", "call_note"
            )
        evidence_id = evidence.note_of_call(session, user, pupil, note).id
    now = now_of(session)
    made = []
    for answer in answers:
        record = ConsentRecord(
            pupil_id=pupil.id,
            purpose_id=answer.purpose.id,
            contact_id=contact_id,
            answer=answer.answer,
            naming=answer.naming if answer.answer and answer.purpose.asks_naming else None,
            given_at=now,
            how=how,
            entered_by_user_id=user.id,
            wording_version=answer.purpose.version,
            evidence_id=evidence_id,
            pupil_agreed=answer.pupil_agreed if answer.answer else None,
        )
        session.add(record)
        made.append(record)
    session.flush()
    record_event(
        session,
        subject_type="pupil",
        subject_id=pupil.id,
        tag=ANSWERS_TAG,
        actor=Actor.staff(user),
        to_value=how,
        detail={
            "records": [r.id for r in made],
            "contact_id": contact_id,
            "evidence_id": evidence_id,
        },
    )
    pupil_consent_changed(session, [pupil.id], now)  # type: ignore[list-item]
    return made


def history_of_pupil(session: Session, pupil: Pupil) -> list[ConsentRecord]:
    """Every answer for the pupil, newest first."""
    statement = (
        select(ConsentRecord)
        .where(ConsentRecord.pupil_id == pupil.id)
        .order_by(ConsentRecord.given_at.desc(), ConsentRecord.id.desc())  # type: ignore[attr-defined]
    )
    return list(session.scalars(statement))
