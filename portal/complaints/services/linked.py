"""Cases answered together: a lead case and the cases linked to it (duplicates, campaigns).

A linked case follows its lead through the whole procedure, whenever it was linked:
- sorted when its lead is sorted (or at once, when linked to a lead already being looked into):
  same stage and handler, each with its own deadline from the day it was received;
- answered by its lead's letters (stage 1 in `respond`, the panel's in `send_panel_outcome`);
- when any parent of the group asks for the next stage inside their window, the whole group
  moves on together, and every other parent is told why their case moved;
- a case the lead's handler may not handle (it names them) cannot follow, and is unlinked with
  the reason, never left waiting;
- when the lead leaves the procedure any other way (withdrawn, sent to another procedure,
  declined), its linked cases are unlinked and go on as cases of their own, recorded.

Linking is refused once the lead has been answered: a letter written to other parents cannot be
sent as a reply to a case its author never read. Unlinking is possible at any time before the
answer, and recorded.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from portal.accounts.models import StaffUser
from portal.clock import school_today
from portal.complaints.models import Complaint, DeadlineKind, Stage, Status
from portal.complaints.services.access import (
    excluded_user_ids,
    handler_roles,
)
from portal.complaints.services.deadlines import _set_deadline
from portal.complaints.services.errors import ComplaintError
from portal.complaints.services.notices import _email_parent
from portal.complaints.services.state import _change_status
from portal.config import Settings
from portal.db import now_of
from portal.history import Actor, record_event

UNLINK_TAG = "complaint:unlink"  # portal.complaints.timeline.Tag.unlink
FOLLOW_TAG = "complaint:link:follow"  # Tag.follow
WITH_LEAD = "investigate"  # a late or anonymous case sorted with its lead is looked into with it


def is_follower(case: Complaint) -> bool:
    """Linked to a lead to be answered with it (a persistent parent's link is something else)."""
    return case.lead_complaint_id is not None and not case.persistent_matter


def followers(session: Session, lead: Complaint) -> list[Complaint]:
    """The open cases answered with `lead`, oldest first."""
    if lead.id is None:
        return []
    return list(
        session.scalars(
            select(Complaint)
            .where(
                Complaint.lead_complaint_id == lead.id,
                Complaint.persistent_matter.is_(False),  # type: ignore[union-attr]
                Complaint.is_active.is_(True),  # type: ignore[union-attr]
            )
            .order_by(Complaint.id)  # type: ignore[arg-type]
        )
    )


def lead_of(session: Session, case: Complaint) -> Complaint | None:
    if not is_follower(case):
        return None
    return session.get(Complaint, case.lead_complaint_id)


def group_lead(session: Session, case: Complaint) -> Complaint:
    """The case that speaks for the group `case` belongs to (itself when it leads or is alone)."""
    return lead_of(session, case) or case


def unlink(
    session: Session,
    case: Complaint,
    actor: Actor,
    *,
    reason: str,
) -> None:
    """The case goes on alone, where it stands (its handler and deadline stay)."""
    if not is_follower(case):
        raise ComplaintError("unlink", "This case is not linked to a lead case")
    lead = session.get(Complaint, case.lead_complaint_id)
    case.lead_complaint_id = None
    session.add(case)
    record_event(
        session,
        subject_type="complaint",
        subject_id=case.id,
        tag=UNLINK_TAG,
        actor=actor,
        from_value=lead.reference if lead is not None else "",
        detail={"reason": reason},
    )


def unlink_by_staff(session: Session, case: Complaint, user: StaffUser) -> None:
    if case.status not in (Status.new, Status.open):
        raise ComplaintError("unlink", "A case that has been answered stays with its lead")
    unlink(session, case, Actor.staff(user), reason="Unlinked by staff")


def release_followers(session: Session, lead: Complaint, actor: Actor, why: str) -> list[Complaint]:
    """The lead left the procedure without answering them: each linked case goes on alone."""
    released = followers(session, lead)
    for case in released:
        unlink(session, case, actor, reason=why)
    return released


def bring_along(
    session: Session, settings: Settings, lead: Complaint, actor: Actor
) -> list[Complaint]:
    """Move every linked case to where its lead stands now (sorting, the next stage). Returns
    the cases that moved. A case whose lead's handler it names is unlinked instead."""
    moved: list[Complaint] = []
    for case in followers(session, lead):
        if _follow(session, settings, lead, case, actor):
            moved.append(case)
    return moved


def _follow(
    session: Session, settings: Settings, lead: Complaint, case: Complaint, actor: Actor
) -> bool:
    if lead.status == Status.new or lead.handler_user_id is None:
        return False  # nothing to follow yet: both wait to be sorted
    if lead.handler_user_id in excluded_user_ids(session, case) or handler_roles(
        case.about_enum
    ) != handler_roles(lead.about_enum):
        unlink(
            session,
            case,
            actor,
            reason=f"{lead.reference}'s handler may not handle this case: it is sorted on its own",
        )
        return False
    if case.status == Status.new:
        _sort_with_lead(session, settings, lead, case, actor)
        return True
    if lead.status == Status.open and case.status == Status.open:
        changed = case.handler_user_id != lead.handler_user_id or case.stage != lead.stage
        if changed and lead.stage != Stage.stage2:
            case.handler_user_id = lead.handler_user_id
            if case.stage != lead.stage:
                case.stage = lead.stage
                _set_deadline(session, case, DeadlineKind.respond, case.received_on)
            session.add(case)
            _followed(session, lead, case, actor, "sorted")
        return changed
    if case.status == Status.responded and lead.status == Status.open and case.stage != lead.stage:
        _next_stage_with_lead(session, settings, lead, case, actor)
        return True
    return False


def move_group_with(
    session: Session, settings: Settings, asker: Complaint, old_stage: str, actor: Actor
) -> list[Complaint]:
    """A parent of a linked group asked for the next stage: the group moves on as one. The
    lead follows the asker (when someone else's case led), then every other linked case follows
    the lead; each of their parents is told why. Returns the cases that moved with the asker."""
    lead = group_lead(session, asker)
    moved: list[Complaint] = []
    if lead.id != asker.id and lead.status == Status.responded and lead.stage == old_stage:
        _next_stage_with_lead(session, settings, asker, lead, actor)
        moved.append(lead)
    moved.extend(
        case for case in bring_along(session, settings, lead, actor) if case.id != asker.id
    )
    return moved


def _sort_with_lead(
    session: Session, settings: Settings, lead: Complaint, case: Complaint, actor: Actor
) -> None:
    case.stage = lead.stage if lead.stage != Stage.stage2 else Stage.stage1
    case.handler_user_id = lead.handler_user_id
    case.triaged_at = case.triaged_at or now_of(session)
    if case.is_late:
        case.late_decision = WITH_LEAD
    if case.anonymous:
        case.anonymous_decision = WITH_LEAD
    _change_status(session, case, Status.open, actor, with_lead=lead.reference)
    _set_deadline(session, case, DeadlineKind.respond, case.received_on)
    session.add(case)
    _followed(session, lead, case, actor, "sorted")
    handler = session.get(StaffUser, lead.handler_user_id)
    _email_parent(
        session,
        settings,
        case,
        "case-being-looked-into",
        handler_name=handler.name if handler else "",
    )


def _next_stage_with_lead(
    session: Session, settings: Settings, lead: Complaint, case: Complaint, actor: Actor
) -> None:
    old_stage = case.stage
    case.stage = lead.stage
    case.handler_user_id = lead.handler_user_id
    _change_status(session, case, Status.open, actor, with_lead=lead.reference)
    if lead.stage == Stage.stage2:
        case.escalated_on = lead.escalated_on
        _set_deadline(session, case, DeadlineKind.panel, lead.escalated_on or _today(session))
    else:
        case.received_on = lead.received_on
        _set_deadline(session, case, DeadlineKind.respond, case.received_on)
    session.add(case)
    record_event(
        session,
        subject_type="complaint",
        subject_id=case.id,
        tag="complaint:stage:escalate",
        actor=actor,
        from_value=old_stage,
        to_value=case.stage,
        detail={"with_lead": lead.reference},
    )
    _email_parent(session, settings, case, "moved-with-linked-cases")


def _followed(session: Session, lead: Complaint, case: Complaint, actor: Actor, what: str) -> None:
    if lead.stage != Stage.stage2 and lead.delegate_user_id not in excluded_user_ids(session, case):
        # Looked into by the senior leader the lead was given to (services.delegation).
        case.delegate_user_id, case.delegated_at = lead.delegate_user_id, lead.delegated_at
        session.add(case)
    record_event(
        session,
        subject_type="complaint",
        subject_id=case.id,
        tag=FOLLOW_TAG,
        actor=actor,
        to_value=lead.reference,
        detail={"what": what},
    )


def _today(session: Session) -> date:
    return school_today(now_of(session))
