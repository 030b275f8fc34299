"""State changes every action shares: claiming a case, its status and the per-status counts,
adding a message."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.complaints.models import (
    NO_DEADLINE,
    CaseExclusion,
    Complaint,
    ComplaintMessage,
    MessageKind,
    Panel,
    Status,
    StatusCount,
)
from portal.complaints.services.access import visibility_clause, visible_abouts
from portal.db import insert_now, now_of
from portal.history import Actor, record_event


def _count_key(status: str, about: str) -> str:
    return f"{status}:{about}"


def _adjust_count(session: Session, status: str, about: str, delta: int) -> None:
    """One atomic upsert, so two requests creating the same counter at once both count."""
    connection = session.connection()
    connection.execute(
        _count_upsert(connection.dialect.name), {"key": _count_key(status, about), "delta": delta}
    )


_COUNT_UPSERTS: dict[str, Any] = {}


def _count_upsert(dialect: str) -> Any:
    """The upsert, built once per dialect (every submission and status change runs it)."""
    if dialect not in _COUNT_UPSERTS:
        insert_into = postgresql_insert if dialect == "postgresql" else sqlite_insert
        table = StatusCount.__table__  # type: ignore[attr-defined]
        statement = insert_into(table).values(status=bindparam("key"), count=bindparam("delta"))
        _COUNT_UPSERTS[dialect] = statement.on_conflict_do_update(
            index_elements=[table.c.status],
            set_={"count": table.c.count + bindparam("delta", type_=Integer)},
        )
    return _COUNT_UPSERTS[dialect]


def claim(session: Session, complaint: Complaint) -> None:
    """Take the case for this change now: bump its version with a conditional UPDATE, so a second
    request that read the same version fails here (StaleDataError) before it writes anything."""
    flag_modified(complaint, "status")
    session.add(complaint)
    session.flush()


def _change_status(
    session: Session, complaint: Complaint, status: Status, actor: Actor, **detail: object
) -> None:
    old = complaint.status
    if old == status:
        return
    if complaint.id is not None:
        _adjust_count(session, old, complaint.about, -1)
    _adjust_count(session, status, complaint.about, +1)
    complaint.status = status
    complaint.is_active = status.is_active
    if not status.is_active:
        complaint.closed_at = now_of(session)
        complaint.deadline_kind = None
        complaint.next_deadline = None
        complaint.queue_date = NO_DEADLINE
    session.add(complaint)
    if complaint.id is not None:
        record_event(
            session,
            subject_type="complaint",
            subject_id=complaint.id,
            tag="complaint:status",
            actor=actor,
            from_value=old,
            to_value=status,
            detail=dict(detail) or None,
        )


def rebuild_status_counts(session: Session) -> dict[str, tuple[int, int]]:
    """Recount the counter table from the cases themselves; returns what changed (was, now).

    The counters move in the same transaction as every change, so they should never drift; this
    is the repair (and the check) should a bulk edit or a restore ever bypass the services.
    """
    real = {
        _count_key(status, about): count
        for status, about, count in session.execute(
            select(Complaint.status, Complaint.about, func.count()).group_by(
                Complaint.status, Complaint.about
            )
        )
    }
    stored = {row.status: row for row in session.scalars(select(StatusCount).with_for_update())}
    changed: dict[str, tuple[int, int]] = {}
    for key in sorted(set(real) | set(stored)):
        now = real.get(key, 0)
        row = stored.get(key)
        was = row.count if row is not None else 0
        if was == now:
            continue
        changed[key] = (was, now)
        if row is None:
            session.add(StatusCount(status=key, count=now))
        else:
            row.count = now
            session.add(row)
    return changed


def status_counts(session: Session, user: StaffUser) -> dict[Status, int]:
    """Cases per status among those this person may see, from the counter table (24 rows)."""
    abouts = visible_abouts(user)
    totals = {status: 0 for status in Status}
    if not abouts:
        rows = session.execute(
            select(Complaint.status, func.count())
            .where(visibility_clause(user))
            .group_by(Complaint.status)
        )
        for status, count in rows:
            totals[Status(status)] = count
        return totals
    for row in session.scalars(select(StatusCount)):
        status, _, about = row.status.partition(":")
        if about in abouts:
            totals[Status(status)] += row.count
    # The counter counts every case of a kind; this person's queue lists fewer (those about
    # them) and more (those they handle or sit on the panel for). Both are few, found by index.
    kept_out = session.execute(
        select(Complaint.status, func.count())
        .join(CaseExclusion, CaseExclusion.complaint_id == Complaint.id)
        .where(CaseExclusion.user_id == user.id, Complaint.about.in_(abouts))
        .group_by(Complaint.status)
    )
    for status, count in kept_out:
        totals[Status(status)] -= count
    about_them = session.execute(
        select(Complaint.status, func.count())
        .where(
            Complaint.about_user_id == user.id,
            Complaint.about.in_(abouts),
            ~exists().where(
                CaseExclusion.complaint_id == Complaint.id, CaseExclusion.user_id == user.id
            ),
        )
        .group_by(Complaint.status)
    )
    for status, count in about_them:
        totals[Status(status)] -= count
    panel_cases = select(Panel.complaint_id).where(
        or_(
            Panel.member_1_id == user.id, Panel.member_2_id == user.id, Panel.member_3_id == user.id
        )
    )
    # Handled by them, or on their panel and handled by someone else: apart, each is found by an
    # index; as one OR, every case was read. Their panels' cases are a few ids, asked for first
    # (as a subquery, PostgreSQL read every case when they sat on no panel).
    handles = Complaint.handler_user_id == user.id
    given = Complaint.delegate_user_id == user.id
    reaches = [handles]
    if user.has_role(Role.senior_leader):
        # Given to them by the handler (only ever a senior leader): never also handled by them.
        # Asked only of senior leaders: nearly every case has no delegate, so SQLite's
        # statistics make it read every case for anyone else.
        reaches.append(and_(given, or_(Complaint.handler_user_id.is_(None), ~handles)))
    on_panels = list(session.scalars(panel_cases))
    if on_panels:
        reaches.append(
            and_(
                Complaint.id.in_(on_panels),
                or_(Complaint.handler_user_id.is_(None), ~handles),
                or_(Complaint.delegate_user_id.is_(None), ~given),
            )
        )
    for reach in reaches:
        beyond = session.execute(
            select(Complaint.status, func.count())
            .where(Complaint.about.not_in(abouts), reach, visibility_clause(user))
            .group_by(Complaint.status)
        )
        for status, count in beyond:
            totals[Status(status)] += count
    return totals


def _add_message(
    session: Session,
    complaint: Complaint,
    kind: MessageKind,
    body: str,
    actor: Actor,
    *,
    outcome: str | None = None,
    new_deadline: date | None = None,
    signed_by: str | None = None,
) -> ComplaintMessage:
    """`signed_by` is the name the parent reads as the sender when it is not the actor's (a
    letter sent by a senior leader goes out over the handler's name; the history keeps who)."""
    message = _new_message(
        kind, body, actor, outcome=outcome, new_deadline=new_deadline, signed_by=signed_by
    )
    return _save_message(session, complaint, message, actor)


def _new_message(
    kind: MessageKind,
    body: str,
    actor: Actor,
    *,
    outcome: str | None = None,
    new_deadline: date | None = None,
    signed_by: str | None = None,
) -> ComplaintMessage:
    """A message for a case, made but not saved (the case may not be saved yet)."""
    return ComplaintMessage(
        kind=kind,
        author_type=actor.kind,
        author_user_id=actor.user_id,
        author_label=signed_by or actor.label,
        body=body.strip(),
        outcome=outcome,
        new_deadline=new_deadline,
    )


def _save_message(
    session: Session, complaint: Complaint, message: ComplaintMessage, actor: Actor
) -> ComplaintMessage:
    """Save a message made by `_new_message` on the (saved) case, with its history event."""
    message.complaint_id = complaint.id
    insert_now(session, message)
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag=f"complaint:message:{message.kind}",
        actor=actor,
        detail={"message_id": message.id},
    )
    return message
