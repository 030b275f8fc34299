"""Sorting a new case: stage, category, handler, late and anonymous decisions, other
procedures, linked cases."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    select,
)
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.complaints.models import (
    About,
    Complaint,
    DeadlineKind,
    ExclusionReason,
    MessageKind,
    Stage,
    Status,
)
from portal.complaints.services.access import (
    can_handle,
    can_see,
    can_triage,
    eligible_handlers,
    exclude,
    excluded_user_ids,
    handler_roles,
    linked_cases,
    staff_who_can_be_named,
)
from portal.complaints.services.deadlines import _set_deadline
from portal.complaints.services.delegation import end_delegation
from portal.complaints.services.errors import ComplaintError
from portal.complaints.services.linked import bring_along, is_follower, release_followers
from portal.complaints.services.notices import _email_parent, _email_staff
from portal.complaints.services.queue import find_by_reference
from portal.complaints.services.state import _add_message, _change_status
from portal.config import Settings
from portal.db import now_of
from portal.history import Actor, record_event
from portal.school.services import school_of


@dataclass
class Triage:
    stage: Stage
    category: str
    handler_id: int | None
    about_user_id: int | None = None
    late_decision: str | None = None
    anonymous_decision: str | None = None
    notes: str = ""


def triage(
    session: Session, settings: Settings, complaint: Complaint, user: StaffUser, decision: Triage
) -> None:
    """Office sorts a new case: concern or stage 1, category, who it names, who handles it."""
    if not can_triage(session, user, complaint):
        raise ComplaintError("handler_id", "You cannot sort this case")
    if complaint.status not in (Status.new, Status.open) or complaint.stage == Stage.stage2:
        raise ComplaintError("stage", "Only new or open concerns and stage 1 cases can be sorted")
    if is_follower(complaint):
        raise ComplaintError(
            "stage", "This case is answered with its lead case: sort that one, or unlink it first"
        )
    if decision.stage not in (Stage.concern, Stage.stage1):
        raise ComplaintError("stage", "Select concern or stage 1 complaint")
    if decision.category not in school_of(session).categories:
        raise ComplaintError("category", "Select a category")
    if complaint.is_late and decision.late_decision not in ("investigate", "decline"):
        raise ComplaintError(
            "late_decision",
            f"This was raised more than {school_of(session).late_after_words} after it "
            "happened: record a decision",
        )
    if complaint.anonymous and decision.anonymous_decision not in ("investigate", "decline"):
        raise ComplaintError(
            "anonymous_decision", "Record whether to look into this anonymous case"
        )
    if decision.about_user_id is not None:
        nameable = {u.id for u in staff_who_can_be_named(session, complaint.about_enum)}
        if decision.about_user_id not in nameable:
            raise ComplaintError("about_user_id", "Select the person the complaint is about")
        if decision.about_user_id == user.id:
            raise ComplaintError(
                "about_user_id",
                "You cannot sort a case about yourself: ask a colleague to sort it",
            )
        complaint.about_user_id = decision.about_user_id
        exclude(
            session,
            complaint,
            decision.about_user_id,
            ExclusionReason.named_at_triage,
            actor=Actor.staff(user),
        )
    if decision.about_user_id is None and complaint.about == About.head:
        heads = [u for u in session.scalars(select(StaffUser)) if u.has_role(Role.head)]
        complaint.about_user_id = heads[0].id if len(heads) == 1 else complaint.about_user_id
        for head in heads:
            exclude(session, complaint, head.id, ExclusionReason.head_teacher)
    handler = session.get(StaffUser, decision.handler_id) if decision.handler_id else None
    if handler is None or handler.id not in {u.id for u in eligible_handlers(session, complaint)}:
        roles = ", ".join(role.label.lower() for role in handler_roles(complaint.about_enum))
        raise ComplaintError(
            "handler_id",
            f"Select a handler: this case must go to the {roles}, not the person named",
        )
    actor = Actor.staff(user)
    old_stage = complaint.stage
    complaint.stage = decision.stage
    complaint.category = decision.category
    complaint.late_decision = decision.late_decision if complaint.is_late else None
    complaint.anonymous_decision = decision.anonymous_decision if complaint.anonymous else None
    if decision.notes.strip():
        complaint.decision_notes = decision.notes.strip()
    first_triage = complaint.status == Status.new
    complaint.triaged_at = complaint.triaged_at or now_of(session)
    previous_handler = complaint.handler_user_id
    complaint.handler_user_id = handler.id
    if previous_handler != handler.id and complaint.stage != Stage.stage2:
        end_delegation(session, complaint, actor)  # the new handler decides for themselves
    elif complaint.delegate_user_id in excluded_user_ids(session, complaint):
        end_delegation(session, complaint, actor)  # the case is about the senior leader now
    declined = "decline" in (complaint.late_decision, complaint.anonymous_decision)
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:triage",
        actor=actor,
        from_value=old_stage,
        to_value=decision.stage,
        detail={
            "category": decision.category,
            "handler": handler.name,
            "late_decision": complaint.late_decision,
            "anonymous_decision": complaint.anonymous_decision,
            "notes": decision.notes.strip(),
        },
    )
    if declined:
        _close_declined(session, settings, complaint, user, decision.notes)
        release_followers(session, complaint, actor, f"Its lead {complaint.reference} was closed")
        return
    if first_triage:
        _change_status(session, complaint, Status.open, actor)
        _set_deadline(session, complaint, DeadlineKind.respond, complaint.received_on)
        _email_parent(
            session,
            settings,
            complaint,
            "case-being-looked-into",
            handler_name=handler.name,
        )
    elif old_stage != complaint.stage:
        _set_deadline(session, complaint, DeadlineKind.respond, complaint.received_on)
        if old_stage == Stage.concern and complaint.stage == Stage.stage1:
            _email_parent(
                session, settings, complaint, "concern-made-formal", handler_name=handler.name
            )
    session.add(complaint)
    bring_along(session, settings, complaint, actor)
    if previous_handler != handler.id:
        _email_staff(
            session,
            settings,
            handler,
            complaint,
            "staff-case-given",
        )


def _close_declined(
    session: Session, settings: Settings, complaint: Complaint, user: StaffUser, notes: str
) -> None:
    reason = notes.strip() or "The school has decided not to investigate."
    _add_message(
        session,
        complaint,
        MessageKind.school_message,
        f"We have decided not to look into this case. {reason}",
        Actor.staff(user),
    )
    _change_status(session, complaint, Status.closed, Actor.staff(user), declined=True)
    _email_parent(
        session,
        settings,
        complaint,
        "case-declined",
        reason=reason,
    )


def redirect_out_of_scope(
    session: Session,
    settings: Settings,
    complaint: Complaint,
    user: StaffUser,
    *,
    procedure: str,
    reason: str,
) -> None:
    """Not for this procedure: tell the parent where to go instead, with the reason recorded."""
    if not can_triage(session, user, complaint):
        raise ComplaintError("procedure", "You cannot sort this case")
    chosen = school_of(session).procedure(procedure)
    if chosen is None:
        raise ComplaintError("procedure", "Select which procedure this belongs to")
    if len(reason.strip()) < 5:
        raise ComplaintError("reason", "Enter the reason, which the parent will read")
    if not complaint.is_active:
        raise ComplaintError("procedure", "This case is already closed")
    name = chosen.name
    where = f"{chosen.where} {chosen.url}".strip() if chosen.url else chosen.where
    complaint.redirect_to = name
    complaint.redirect_reason = reason.strip()
    _add_message(
        session,
        complaint,
        MessageKind.redirect_notice,
        f"This is about {name.lower()}, which has its own procedure. {where}\n\n{reason.strip()}",
        Actor.staff(user),
    )
    _change_status(session, complaint, Status.redirected, Actor.staff(user), procedure=procedure)
    release_followers(
        session, complaint, Actor.staff(user), f"Its lead {complaint.reference} went elsewhere"
    )
    _email_parent(
        session,
        settings,
        complaint,
        "case-redirected",
        procedure_name=name.lower(),
        where=where,
        reason=reason.strip(),
    )


def link_to_lead(
    session: Session, settings: Settings, complaint: Complaint, lead: Complaint, user: StaffUser
) -> None:
    """Duplicates and campaigns: one case leads; the others are answered with it, and follow it
    through the procedure from now on (`services.linked`)."""
    if not (can_triage(session, user, complaint) or can_handle(session, user, complaint)):
        raise ComplaintError("lead_reference", "You cannot link this case")
    if not complaint.is_active or not lead.is_active:
        raise ComplaintError("lead_reference", "Only open cases can be linked")
    if lead.status not in (Status.new, Status.open) or lead.stage == Stage.stage2:
        raise ComplaintError(
            "lead_reference",
            f"{lead.reference} has already been answered, so this case cannot get its letter: "
            "answer this case on its own",
        )
    if complaint.status not in (Status.new, Status.open) or complaint.stage == Stage.stage2:
        raise ComplaintError(
            "lead_reference", "This case has already been answered, so it cannot follow another"
        )
    if lead.id == complaint.id:
        raise ComplaintError("lead_reference", "A case cannot lead itself")
    if linked_cases(session, complaint):
        raise ComplaintError(
            "lead_reference",
            f"{complaint.reference} already leads other cases, so it cannot follow one",
        )
    if lead.lead_complaint_id is not None:
        raise ComplaintError("lead_reference", f"{lead.reference} is itself linked to another case")
    if not can_see(session, user, lead):
        raise ComplaintError("lead_reference", "No case with that reference")
    if handler_roles(complaint.about_enum) != handler_roles(lead.about_enum):
        raise ComplaintError(
            "lead_reference",
            f"{lead.reference} is answered by someone else under the procedure, so the cases "
            "cannot be answered together",
        )
    if lead.handler_user_id is not None and lead.handler_user_id in excluded_user_ids(
        session, complaint
    ):
        raise ComplaintError(
            "lead_reference",
            f"{lead.reference} is handled by someone this case is about, so they cannot be linked",
        )
    if lead.delegate_user_id is not None and lead.delegate_user_id in excluded_user_ids(
        session, complaint
    ):
        raise ComplaintError(
            "lead_reference",
            f"{lead.reference} is being looked into by someone this case is about, so they "
            "cannot be linked",
        )
    complaint.lead_complaint_id = lead.id
    session.add(complaint)
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:link",
        actor=Actor.staff(user),
        to_value=lead.reference,
    )
    bring_along(session, settings, lead, Actor.staff(user))


def link_to_lead_by_reference(
    session: Session, settings: Settings, complaint: Complaint, reference: str, user: StaffUser
) -> Complaint:
    lead = find_by_reference(session, reference)
    if lead is None or not can_see(session, user, lead):
        raise ComplaintError("lead_reference", "No case with that reference")
    link_to_lead(session, settings, complaint, lead, user)
    return lead
