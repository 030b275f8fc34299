"""Who may see and handle what: the one visibility rule, exclusions, and every `can_*`."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    and_,
    exists,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.complaints.models import (
    About,
    CaseExclusion,
    Complaint,
    ComplaintMessage,
    ExclusionReason,
    MessageKind,
    Panel,
    Stage,
)
from portal.complaints.naming import match_named_staff
from portal.complaints.services.errors import ComplaintError
from portal.history import Actor, HistoryEvent, record_event

DELEGATE_TAG = "complaint:delegate"  # portal.complaints.timeline.Tag.delegate


def visible_abouts(user: StaffUser) -> set[str]:
    if user.has_role(Role.chair, Role.clerk):
        return {about.value for about in About}
    if user.has_role(Role.head):
        return {About.school, About.staff, About.governor}
    if user.has_role(Role.office):
        return {About.school, About.staff}
    return set()


def visibility_clause(user: StaffUser) -> ColumnElement[bool]:
    """The SQL filter for the cases this person may see. Never a case naming them."""
    abouts = visible_abouts(user)
    by_role = Complaint.about.in_(abouts) if abouts else false()
    panel_cases = select(Panel.complaint_id).where(
        or_(
            Panel.member_1_id == user.id,
            Panel.member_2_id == user.id,
            Panel.member_3_id == user.id,
        )
    )
    allowed = or_(
        by_role,
        Complaint.handler_user_id == user.id,
        Complaint.delegate_user_id == user.id,
        Complaint.id.in_(panel_cases),
    )
    not_about_them = or_(Complaint.about_user_id.is_(None), Complaint.about_user_id != user.id)
    not_excluded = ~exists().where(
        CaseExclusion.complaint_id == Complaint.id, CaseExclusion.user_id == user.id
    )
    return and_(allowed, not_about_them, not_excluded)


def is_excluded(session: Session, user: StaffUser, complaint: Complaint) -> bool:
    """True for the person a case is about, by the parent's words or by triage: never theirs."""
    if complaint.about_user_id == user.id:
        return True
    if complaint.id is None:
        return False
    return session.get(CaseExclusion, (complaint.id, user.id)) is not None


def excluded_user_ids(session: Session, complaint: Complaint) -> set[int]:
    ids = set(
        session.scalars(
            select(CaseExclusion.user_id).where(CaseExclusion.complaint_id == complaint.id)
        )
    )
    if complaint.about_user_id is not None:
        ids.add(complaint.about_user_id)
    return ids


def exclusions_for(session: Session, complaint: Complaint) -> list[CaseExclusion]:
    return list(
        session.scalars(
            select(CaseExclusion)
            .where(CaseExclusion.complaint_id == complaint.id)
            .order_by(CaseExclusion.created_at, CaseExclusion.user_id)
        )
    )


def exclude(
    session: Session,
    complaint: Complaint,
    user_id: int,
    reason: ExclusionReason,
    *,
    words: str = "",
    actor: Actor | None = None,
) -> None:
    """Keep `user_id` out of this case for good. An unsure match becomes sure, never the reverse."""
    row = session.get(CaseExclusion, (complaint.id, user_id))
    if row is not None:
        if row.reason == ExclusionReason.maybe_named_by_parent and reason != row.reason:
            row.reason = reason
            session.add(row)
        return
    session.add(
        CaseExclusion(
            complaint_id=complaint.id,
            user_id=user_id,
            reason=reason,
            matched_words=words[:200],
        )
    )
    session.flush()
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:exclude",
        actor=actor or Actor.system(),
        to_value=str(user_id),
        detail={"reason": reason.value, "words": words[:200]},
    )


def clear_unsure_exclusion(
    session: Session, complaint: Complaint, user: StaffUser, excluded_id: int
) -> None:
    """Someone who sorts cases says an unsure match is not the person the parent meant."""
    if not can_triage(session, user, complaint):
        raise ComplaintError("exclusion", "You cannot sort this case")
    row = session.get(CaseExclusion, (complaint.id, excluded_id))
    if row is None or row.reason != ExclusionReason.maybe_named_by_parent:
        raise ComplaintError("exclusion", "Only an unsure match can be cleared")
    session.delete(row)
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:exclude:cleared",
        actor=Actor.staff(user),
        from_value=str(excluded_id),
    )


def _exclude_named_at_receipt(session: Session, complaint: Complaint) -> None:
    """From the moment a case arrives, whoever the parent's words name is kept out of it."""
    names_someone = complaint.about != About.school and complaint.about_name.strip()
    if complaint.about != About.head and not names_someone:
        return  # about the school, naming nobody: no staff list to read (most cases)
    staff = list(session.scalars(select(StaffUser).where(StaffUser.is_active.is_(True))))
    if complaint.about == About.head:
        for user in staff:
            if user.has_role(Role.head):
                exclude(session, complaint, user.id, ExclusionReason.head_teacher)
    if not names_someone:
        return
    for match in match_named_staff(complaint.about_name, staff):
        reason = (
            ExclusionReason.named_by_parent if match.sure else ExclusionReason.maybe_named_by_parent
        )
        exclude(session, complaint, match.user.id, reason, words=match.words)


def can_see(session: Session, user: StaffUser, complaint: Complaint) -> bool:
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Complaint)
            .where(Complaint.id == complaint.id)
            .where(visibility_clause(user))
        )
    )


def can_triage(session: Session, user: StaffUser, complaint: Complaint) -> bool:
    return user.has_role(Role.office, Role.chair, Role.clerk) and not is_excluded(
        session, user, complaint
    )


def can_handle(session: Session, user: StaffUser, complaint: Complaint) -> bool:
    """Stage 1 and concerns: the assigned handler, or the senior leader they gave it to.
    Stage 2: the clerk or the chair (a delegation gives no rights there)."""
    if is_excluded(session, user, complaint):
        return False
    if complaint.stage == Stage.stage2:
        return user.has_role(Role.clerk, Role.chair)
    return user.id is not None and user.id in (
        complaint.handler_user_id,
        complaint.delegate_user_id,
    )


def can_delegate(session: Session, user: StaffUser, complaint: Complaint) -> bool:
    """Giving the investigation to a senior leader (or taking it back) is the handler's alone,
    at stage 1 or on a concern; the delegate cannot pass it on."""
    if complaint.stage == Stage.stage2 or is_excluded(session, user, complaint):
        return False
    return complaint.handler_user_id is not None and complaint.handler_user_id == user.id


def can_mark_persistent(session: Session, user: StaffUser, complaint: Complaint) -> bool:
    if is_excluded(session, user, complaint):
        return False
    if complaint.about == About.head:
        return user.has_role(Role.chair)
    return user.has_role(Role.head, Role.chair)


def handler_roles(about: About) -> tuple[Role, ...]:
    """Routing: about the head -> chair; about a governor -> clerk; otherwise the head."""
    if about is About.head:
        return (Role.chair,)
    if about is About.governor:
        return (Role.clerk,)
    return (Role.head,)


def eligible_handlers(session: Session, complaint: Complaint) -> list[StaffUser]:
    roles = handler_roles(complaint.about_enum)
    users = session.scalars(
        select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.name)
    )
    excluded = excluded_user_ids(session, complaint)
    for linked in linked_cases(session, complaint):
        excluded |= excluded_user_ids(session, linked)
    return [u for u in users if u.has_role(*roles) and u.id not in excluded]


def staff_who_can_be_named(session: Session, about: About) -> list[StaffUser]:
    """Who a case can name: anyone on the staff list for 'a member of staff', governors (and the
    chair) for 'a governor', the head for 'the head teacher'. Checked again on the server."""
    users = list(
        session.scalars(
            select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.name)
        )
    )
    if about is About.staff:
        return users
    if about is About.governor:
        return [u for u in users if u.has_role(Role.governor, Role.chair)]
    if about is About.head:
        return [u for u in users if u.has_role(Role.head)]
    return []


def handler_of(session: Session, complaint: Complaint) -> StaffUser | None:
    return session.get(StaffUser, complaint.handler_user_id) if complaint.handler_user_id else None


def record_view(
    session: Session, complaint: Complaint, user: StaffUser, *, read: str | None = None
) -> None:
    """Every look at a case by staff goes in its history; `read` says what else was opened
    (a file, a letter, a parent's email in the outbox)."""
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:view",
        actor=Actor.staff(user),
        detail={"read": read} if read else None,
    )


def may_answer_with_lead(session: Session, user: StaffUser, case: Complaint) -> bool:
    """A linked case gets its lead's letter only if the letter's author could answer it alone:
    they may see it, it is not about them, and its routing sends it to someone in their role."""
    return (
        not is_excluded(session, user, case)
        and can_see(session, user, case)
        and (
            user.has_role(*handler_roles(case.about_enum))
            or (case.stage != Stage.stage2 and case.delegate_user_id == user.id)
        )
    )


def linked_cases(session: Session, lead: Complaint) -> list[Complaint]:
    return list(
        session.scalars(
            select(Complaint).where(Complaint.lead_complaint_id == lead.id).order_by(Complaint.id)
        )
    )


def can_message(session: Session, user: StaffUser, complaint: Complaint) -> bool:
    """Messages to the parent come from whoever sorts or handles the case, not panel members."""
    return complaint.is_active and (
        can_triage(session, user, complaint) or can_handle(session, user, complaint)
    )


def involved_user_ids(session: Session, complaint: Complaint) -> set[int]:
    """Everyone who took part in the case before stage 2: they may not sit on the panel. That
    includes every senior leader the case was ever given to, from its history."""
    ids = {complaint.handler_user_id, complaint.about_user_id, complaint.delegate_user_id}
    ids.update(
        int(value)
        for value in session.scalars(
            select(HistoryEvent.to_value).where(
                HistoryEvent.subject_type == "complaint",
                HistoryEvent.subject_id == str(complaint.id),
                HistoryEvent.tag == DELEGATE_TAG,
            )
        )
        if value and value.isdigit() and len(value) <= 9
    )
    ids.update(
        session.scalars(
            select(ComplaintMessage.author_user_id).where(
                ComplaintMessage.complaint_id == complaint.id,
                ComplaintMessage.kind.in_([MessageKind.stage1_letter, MessageKind.school_message]),
            )
        )
    )
    return {i for i in ids if i is not None}


def _office_staff(session: Session) -> list[StaffUser]:
    users = session.scalars(select(StaffUser).where(StaffUser.is_active.is_(True)))
    return [u for u in users if u.has_role(Role.office)]


def users_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, StaffUser]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in session.scalars(select(StaffUser).where(StaffUser.id.in_(wanted)))}
