"""Stage 2: the governors' panel and its outcome."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import (
    select,
)
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.calendar import format_date
from portal.complaints.models import (
    Complaint,
    MessageKind,
    Panel,
    Stage,
    Status,
)
from portal.complaints.services.access import can_handle, involved_user_ids, is_excluded
from portal.complaints.services.errors import ComplaintError
from portal.complaints.services.letter_text import Letter, _check_letter, _letter_values
from portal.complaints.services.linked import bring_along, followers, is_follower
from portal.complaints.services.notices import _email_parent
from portal.complaints.services.state import _add_message, _change_status, claim
from portal.config import Settings
from portal.history import Actor, record_event
from portal.wording.services import render as render_wording


def panel_for(session: Session, complaint: Complaint) -> Panel | None:
    return session.scalars(select(Panel).where(Panel.complaint_id == complaint.id)).first()


def eligible_panel_members(session: Session, complaint: Complaint) -> list[StaffUser]:
    involved = involved_user_ids(session, complaint)
    users = session.scalars(
        select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.name)
    )
    return [
        u
        for u in users
        if u.has_role(Role.governor, Role.chair)
        and not u.has_role(Role.head)
        and u.id not in involved
    ]


def record_panel(
    session: Session,
    complaint: Complaint,
    user: StaffUser,
    *,
    hearing_on: date | None,
    member_ids: Sequence[int],
    papers: str,
    hearing_notes: str,
) -> Panel:
    if complaint.stage != Stage.stage2 or complaint.status != Status.open:
        raise ComplaintError("hearing_on", "A panel can only be recorded for an open stage 2 case")
    if is_follower(complaint):
        raise ComplaintError(
            "hearing_on", "This case is heard with its lead case: record the panel there"
        )
    if not user.has_role(Role.clerk, Role.chair) or is_excluded(session, user, complaint):
        raise ComplaintError("hearing_on", "Only the clerk or the chair can record the panel")
    if hearing_on is None:
        raise ComplaintError("hearing_on", "Enter the date of the panel hearing")
    chosen = [int(m) for m in member_ids if m]
    if len(set(chosen)) != 3:
        raise ComplaintError("members", "Select three different panel members")
    allowed = {u.id for u in eligible_panel_members(session, complaint)}
    if not set(chosen) <= allowed:
        raise ComplaintError(
            "members", "Panel members must be governors who were not involved, and not the head"
        )
    claim(session, complaint)
    panel = panel_for(session, complaint) or Panel(complaint_id=complaint.id)
    panel.hearing_on = hearing_on
    panel.member_1_id, panel.member_2_id, panel.member_3_id = chosen
    panel.papers = papers.strip()
    panel.hearing_notes = hearing_notes.strip()
    panel.recorded_by_user_id = user.id
    session.add(panel)
    session.flush()
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:panel:record",
        actor=Actor.staff(user),
        to_value=hearing_on.isoformat(),
        detail={"members": chosen},
    )
    return panel


def send_panel_outcome(
    session: Session, settings: Settings, complaint: Complaint, user: StaffUser, letter: Letter
) -> None:
    """The stage 2 letter closes the procedure and says where to go next."""
    if not can_handle(session, user, complaint) or complaint.stage != Stage.stage2:
        raise ComplaintError("outcome", "Only the clerk or chair can send the panel's outcome")
    if complaint.status != Status.open:
        raise ComplaintError("outcome", "This case is not waiting for a panel outcome")
    if is_follower(complaint):
        raise ComplaintError("outcome", "This case is heard with its lead case")
    panel = panel_for(session, complaint)
    if panel is None or len(panel.member_ids) != 3:
        raise ComplaintError("outcome", "Record the panel (date and three members) first")
    _check_letter(letter)
    members = [session.get(StaffUser, m) for m in panel.member_ids]
    # Every linked case heard with this one gets the panel's letter, addressed to its parent.
    bring_along(session, settings, complaint, Actor.staff(user))
    heard = [complaint] + [
        case
        for case in followers(session, complaint)
        if case.stage == Stage.stage2
        and case.status == Status.open
        and can_handle(session, user, case)
    ]
    for case in heard:
        body = render_wording(
            session,
            "panel-outcome-letter",
            {
                **_letter_values(session, case, letter, user),
                "hearing_on": format_date(panel.hearing_on),
                "panel_members": ", ".join(m.name for m in members if m),
            },
        ).body
        _add_message(
            session,
            case,
            MessageKind.stage2_letter,
            body,
            Actor.staff(user),
            outcome=letter.outcome,
        )
        case.outcome = letter.outcome
        _change_status(session, case, Status.closed, Actor.staff(user))
        _email_parent(
            session,
            settings,
            case,
            "panel-outcome-ready",
        )
