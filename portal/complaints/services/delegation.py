"""Delegation: the handler gives a concern or stage 1 case to a senior leader to look into.

The handler (the head, or the chair for a case about the head, or the clerk for one about a
governor) stays the handler: the letter goes out over their name, whoever presses send. The
delegate sees the case and may do what the handler does at stage 1 (`can_handle`), until the
handler takes it back, gives it to someone else, or the case moves to stage 2. Nobody the case
or a case linked to it names may be given it (`excluded_user_ids`), and the delegate never sits
on its panel (`involved_user_ids`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.complaints.models import Complaint, Stage, Status
from portal.complaints.services.access import (
    DELEGATE_TAG,
    can_delegate,
    excluded_user_ids,
    is_excluded,
    linked_cases,
)
from portal.complaints.services.errors import ComplaintError
from portal.complaints.services.linked import followers, is_follower
from portal.complaints.services.notices import _email_staff
from portal.config import Settings
from portal.db import now_of
from portal.history import Actor, record_event

TAKE_BACK_TAG = "complaint:delegate:take-back"  # portal.complaints.timeline.Tag.take_back
NOTE_LIMIT = 2000


def delegates_for(session: Session, case: Complaint) -> list[StaffUser]:
    """Who the case may be given to: active senior leaders, not its handler, and nobody it or a
    case linked to it names (by the parent's words, at triage, or as the head)."""
    excluded = excluded_user_ids(session, case)
    for linked in linked_cases(session, case):
        excluded |= excluded_user_ids(session, linked)
    people = session.scalars(
        select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.name)
    )
    return [
        person
        for person in people
        if person.has_role(Role.senior_leader)
        and person.id not in excluded
        and person.id != case.handler_user_id
    ]


def delegate_of(session: Session, case: Complaint) -> StaffUser | None:
    """The senior leader looking into the case now (a delegation ends at stage 2); never
    someone the case is about, who is told nothing of it."""
    if case.delegate_user_id is None or case.stage == Stage.stage2:
        return None
    person = session.get(StaffUser, case.delegate_user_id)
    if person is None or is_excluded(session, person, case):
        return None
    return person


def _check_may_delegate(session: Session, case: Complaint, user: StaffUser, field: str) -> None:
    if not can_delegate(session, user, case):
        raise ComplaintError(field, "Only the case's handler can give it to a senior leader")
    if case.status != Status.open or case.stage == Stage.stage2:
        raise ComplaintError(
            field, "Only an open concern or stage 1 complaint can be given to a senior leader"
        )
    if is_follower(case):
        raise ComplaintError(
            field, "This case is looked into with its lead case. Give the lead case instead."
        )


def _group(session: Session, case: Complaint) -> list[Complaint]:
    """The case and the linked cases answered with it: the delegate looks into them together."""
    return [case] + [
        other for other in followers(session, case) if other.status in (Status.new, Status.open)
    ]


def delegate(
    session: Session,
    settings: Settings,
    case: Complaint,
    by_user: StaffUser,
    to_user_id: int | None,
    note: str,
) -> StaffUser:
    """Give the investigation to a senior leader (or to another one: it replaces the first).
    Refused, with a message, for anyone `delegates_for` does not list. Returns the delegate."""
    _check_may_delegate(session, case, by_user, "delegate_id")
    if to_user_id is None:
        raise ComplaintError("delegate_id", "Choose a senior leader")
    person = next((p for p in delegates_for(session, case) if p.id == to_user_id), None)
    if person is None:
        raise ComplaintError(
            "delegate_id",
            "Choose a senior leader from the list. Nobody this case is about can look into it.",
        )
    if person.id == case.delegate_user_id:
        raise ComplaintError("delegate_id", f"{person.name} is already looking into this case")
    note = note.strip()
    if len(note) > NOTE_LIMIT:
        raise ComplaintError("delegate_note", f"Keep the note to {NOTE_LIMIT:,} characters or less")
    previous = session.get(StaffUser, case.delegate_user_id) if case.delegate_user_id else None
    now = now_of(session)
    for each in _group(session, case):
        each.delegate_user_id = person.id
        each.delegated_at = now
        session.add(each)
        record_event(
            session,
            subject_type="complaint",
            subject_id=each.id,
            tag=DELEGATE_TAG,
            actor=Actor.staff(by_user),
            from_value=str(previous.id) if previous else None,
            to_value=str(person.id),
            detail={
                "to": person.name,
                "from": previous.name if previous else "",
                "note": note if each is case else "",
                "with_lead": case.reference if each is not case else "",
            },
        )
    # The version column makes a second delegation from the same reading fail here, not later.
    session.flush()
    _email_staff(session, settings, person, case, "staff-case-delegated", handler_name=by_user.name)
    if previous is not None:
        _email_staff(
            session, settings, previous, case, "staff-case-taken-back", handler_name=by_user.name
        )
    return person


def take_back(session: Session, settings: Settings, case: Complaint, by_user: StaffUser) -> None:
    """The handler looks into the case again themselves; the senior leader is told."""
    if not can_delegate(session, by_user, case):
        raise ComplaintError("take_back", "Only the case's handler can take it back")
    if case.delegate_user_id is None or case.stage == Stage.stage2:
        raise ComplaintError("take_back", "This case is not with a senior leader")
    previous = end_delegation(session, case, Actor.staff(by_user))
    session.flush()
    _email_staff(
        session, settings, previous, case, "staff-case-taken-back", handler_name=by_user.name
    )


def end_delegation(session: Session, case: Complaint, actor: Actor) -> StaffUser | None:
    """The case and its linked cases are no longer with the senior leader (taken back, or the
    case given to another handler, who decides for themselves). Returns who had it."""
    if case.delegate_user_id is None:
        return None
    previous = session.get(StaffUser, case.delegate_user_id)
    for each in [case, *followers(session, case)]:
        if each.delegate_user_id != case.delegate_user_id and each is not case:
            continue
        each.delegate_user_id = None
        each.delegated_at = None
        session.add(each)
        record_event(
            session,
            subject_type="complaint",
            subject_id=each.id,
            tag=TAKE_BACK_TAG,
            actor=actor,
            from_value=str(previous.id) if previous else None,
            detail={"from": previous.name if previous else ""},
        )
    return previous
