"""Safeguarding flags: a pupil whose picture must never be used, whatever the consent says.

Set and cleared by office or the head with a reason. Only the roles the consent settings name
see a flag's kind and reason; everyone else (and the photo check) sees only "restricted". The
history records that a flag was set or cleared, never its reason.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.consent.models import ConsentSettings, FlagKind, Pupil, SafeguardingFlag
from portal.db import now_of
from portal.domains import pupil_consent_changed
from portal.history import Actor, record_event

FLAG_SETTING_ROLES = (Role.office, Role.head)
DEFAULT_FLAG_ROLES = (Role.head, Role.office)
MAX_REASON = 2000
FLAG_SET_TAG = "pupil:flag:set"
FLAG_CLEARED_TAG = "pupil:flag:cleared"


class FlagRefused(Exception):
    """The flag cannot be set or cleared now; the message says why."""


def settings_of(session: Session) -> ConsentSettings:
    return session.scalar(select(ConsentSettings).order_by(ConsentSettings.id)) or (
        ConsentSettings()
    )


def flag_roles(session: Session) -> frozenset[Role]:
    named = settings_of(session).flag_roles.split(",")
    roles = frozenset(Role(value) for value in named if value in Role.__members__)
    return roles or frozenset(DEFAULT_FLAG_ROLES)


def may_see_reason(session: Session, user: StaffUser) -> bool:
    return user.has_role(*flag_roles(session))


def may_set(user: StaffUser) -> bool:
    return user.has_role(*FLAG_SETTING_ROLES)


def active_flag(session: Session, pupil: Pupil) -> SafeguardingFlag | None:
    return session.scalar(
        select(SafeguardingFlag).where(
            SafeguardingFlag.pupil_id == pupil.id, SafeguardingFlag.active
        )
    )


def restricted(session: Session, pupil_ids: Iterable[int]) -> set[int]:
    """Which of these pupils have an active flag (no kind, no reason)."""
    ids = list(pupil_ids)
    if not ids:
        return set()
    statement = select(SafeguardingFlag.pupil_id).where(
        SafeguardingFlag.active,
        SafeguardingFlag.pupil_id.in_(ids),  # type: ignore[attr-defined]
    )
    return set(session.scalars(statement))


def kinds_of(session: Session, pupil_ids: Iterable[int]) -> dict[int, FlagKind]:
    """The kind of each of these pupils' active flags: only for those who may see it."""
    ids = list(pupil_ids)
    if not ids:
        return {}
    statement = select(SafeguardingFlag.pupil_id, SafeguardingFlag.kind).where(
        SafeguardingFlag.active,
        SafeguardingFlag.pupil_id.in_(ids),  # type: ignore[attr-defined]
    )
    return {
        pupil_id: FlagKind(kind)
        for pupil_id, kind in session.execute(statement)
        if kind in FlagKind.__members__
    }


def set_flag(
    session: Session, user: StaffUser, pupil: Pupil, kind: FlagKind, reason: str
) -> SafeguardingFlag:
    """Flag the pupil; refuses a second active flag (two people at once: one wins)."""
    if not may_set(user):
        raise FlagRefused("Only office staff or the head teacher can restrict a pupil")
    flag = SafeguardingFlag(
        pupil_id=pupil.id,
        kind=kind,
        reason=reason,
        set_by_user_id=user.id,
        set_at=now_of(session),
        active=True,
    )
    try:
        with session.begin_nested():
            session.add(flag)
            session.flush()
    except IntegrityError:
        raise FlagRefused("This pupil is already restricted") from None
    record_event(
        session,
        subject_type="pupil",
        subject_id=pupil.id,
        tag=FLAG_SET_TAG,
        actor=Actor.staff(user),
        detail={"flag_id": flag.id},
    )
    pupil_consent_changed(session, [pupil.id], flag.set_at)  # type: ignore[list-item]
    return flag


def clear_flag(session: Session, user: StaffUser, pupil: Pupil, flag_id: int) -> None:
    """Clear the pupil's active flag (a conditional update: clearing twice clears once)."""
    if not may_set(user):
        raise FlagRefused("Only office staff or the head teacher can lift a restriction")
    cleared = session.execute(
        update(SafeguardingFlag)
        .where(
            SafeguardingFlag.id == flag_id,
            SafeguardingFlag.pupil_id == pupil.id,
            SafeguardingFlag.active,
        )
        .values(active=False, cleared_by_user_id=user.id, cleared_at=now_of(session))
        .execution_options(synchronize_session=False)
    ).rowcount
    if cleared != 1:
        raise FlagRefused("This restriction was already lifted")
    record_event(
        session,
        subject_type="pupil",
        subject_id=pupil.id,
        tag=FLAG_CLEARED_TAG,
        actor=Actor.staff(user),
        detail={"flag_id": flag_id},
    )
