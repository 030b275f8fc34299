"""The photo check: may these pupils appear in a picture used for this purpose, and be named?

`photo_check` answers without writing (the news channel will call it before publishing);
`record_check` answers and keeps the check. Opening a kept check answers again: a pupil whose
answer changed since (a withdrawal, a restriction, a leaver) shows the check as out of date.
Nobody learns a safeguarding flag's reason here: the answer is "restricted".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.consent.models import PhotoCheck, PhotoCheckPupil, Pupil, Purpose
from portal.consent.services.answers import Decision, Why, decisions_for
from portal.db import now_of
from portal.history import Actor, record_event

MAX_PUPILS = 200
CHECKED_TAG = "photo:checked"


@dataclass(frozen=True)
class CheckLine:
    pupil: Pupil
    decision: Decision


def photo_check(
    session: Session, pupil_ids: Sequence[int], purpose: Purpose, at: datetime
) -> list[CheckLine]:
    """The answer per pupil (in the order given; unknown ids are left out) at the moment `at`."""
    ids = list(dict.fromkeys(pupil_ids))[:MAX_PUPILS]
    if not ids:
        return []
    found = {
        p.id: p
        for p in session.scalars(select(Pupil).where(Pupil.id.in_(ids)))  # type: ignore[union-attr]
    }
    pupils = [found[i] for i in ids if i in found]
    decided = decisions_for(session, pupils, [purpose], at)
    return [CheckLine(p, decided[(p.id, purpose.id)]) for p in pupils]  # type: ignore[index]


class CheckRefused(Exception):
    """The check cannot be made; the message says what to do."""


def record_check(
    session: Session, user: StaffUser, pupil_ids: Sequence[int], purpose: Purpose
) -> PhotoCheck:
    lines = photo_check(session, pupil_ids, purpose, now_of(session))
    if not lines:
        raise CheckRefused("Choose the pupils in the picture")
    check = PhotoCheck(
        checked_by_user_id=user.id, checked_at=now_of(session), purpose_id=purpose.id
    )
    session.add(check)
    session.flush()
    for line in lines:
        session.add(
            PhotoCheckPupil(
                check_id=check.id,
                pupil_id=line.pupil.id,
                allowed=line.decision.allowed,
                why=line.decision.why,
                may_name=line.decision.may_name,
            )
        )
    record_event(
        session,
        subject_type="photo_check",
        subject_id=check.id,
        tag=CHECKED_TAG,
        actor=Actor.staff(user),
        to_value=purpose.key,
        detail={"pupils": len(lines), "allowed": sum(1 for x in lines if x.decision.allowed)},
    )
    return check


@dataclass(frozen=True)
class KeptLine:
    pupil: Pupil
    then: PhotoCheckPupil
    now: Decision

    @property
    def changed(self) -> bool:
        return self.then.allowed != self.now.allowed or (self.then.may_name != self.now.may_name)

    @property
    def then_words(self) -> str:
        if self.then.allowed:
            return "Yes"
        return Decision(False, Why(self.then.why)).words


def reopen(session: Session, check: PhotoCheck) -> list[KeptLine]:
    """The check's answers as given, beside what they are now."""
    purpose = session.get(Purpose, check.purpose_id)
    kept = list(
        session.scalars(
            select(PhotoCheckPupil)
            .where(PhotoCheckPupil.check_id == check.id)
            .order_by(PhotoCheckPupil.id)
        )
    )
    if purpose is None or not kept:
        return []
    current = {
        line.pupil.id: line
        for line in photo_check(session, [row.pupil_id for row in kept], purpose, now_of(session))
    }
    return [
        KeptLine(current[row.pupil_id].pupil, row, current[row.pupil_id].decision)
        for row in kept
        if row.pupil_id in current
    ]


def recent_checks(session: Session, limit: int = 10) -> list[tuple[PhotoCheck, str]]:
    """The latest checks, newest first, with their purpose's name."""
    statement = (
        select(PhotoCheck, Purpose.name)
        .join(Purpose, Purpose.id == PhotoCheck.purpose_id)
        .order_by(PhotoCheck.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    )
    return [(check, name) for check, name in session.execute(statement)]
