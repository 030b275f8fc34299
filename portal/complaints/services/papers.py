"""Papers for the governors' panel, from the parent and from the school, and the panel bundle.

Papers are messages of kind `panel_papers` (their files are attachments linked by message_id):
the author says whose they are, the parent or the school. The parent may send papers until the
end of the panel's `papers_by` day on the school's clock; the clerk or chair may add the school's
papers while the case is open at stage 2. Sending the bundle tells the members and the parent it
is ready; the parent may download it from then on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.calendar import format_date
from portal.clock import school_today
from portal.complaints.models import (
    Attachment,
    Complaint,
    ComplaintMessage,
    MessageKind,
    Panel,
    Stage,
    Status,
)
from portal.complaints.services.access import can_handle, can_see, is_excluded
from portal.complaints.services.errors import ComplaintError
from portal.complaints.services.linked import is_follower
from portal.complaints.services.notices import _email_parent, _email_staff
from portal.complaints.services.stage2 import hearing_panel, panel_for
from portal.complaints.services.state import _add_message, claim
from portal.config import Settings
from portal.db import now_of
from portal.history import Actor, record_event

PAPERS_NOTE_LIMIT = 2_000
BUNDLE_TAG = "complaint:panel:bundle"


@dataclass
class PanelPapers:
    """One sending of papers: the note, its files, and whose they are."""

    message: ComplaintMessage
    files: list[Attachment] = field(default_factory=list)

    @property
    def from_parent(self) -> bool:
        return self.message.author_type == "parent"


def papers_deadline(session: Session, case: Complaint) -> date | None:
    """The last day the parent may send papers, or None when no hearing is arranged."""
    if case.stage != Stage.stage2:
        return None
    panel = hearing_panel(session, case)
    if panel is None or panel.hearing_on is None:
        return None
    return panel.papers_by or panel.hearing_on


def parent_papers_open(session: Session, case: Complaint, today: date | None = None) -> bool:
    """Papers are taken until the end of the papers date, on the school's clock."""
    due = papers_deadline(session, case)
    today = today or school_today(now_of(session))
    return due is not None and case.status == Status.open and today <= due


def _check_note(note: str, field_id: str) -> str:
    note = note.strip()
    if len(note) > PAPERS_NOTE_LIMIT:
        raise ComplaintError(
            field_id, f"The note must be {PAPERS_NOTE_LIMIT:,} characters or fewer"
        )
    return note


def check_parent_papers(session: Session, case: Complaint, note: str) -> None:
    """Refuse before any file is stored: no hearing, closed, past the date, or a long note."""
    due = papers_deadline(session, case)
    if due is None or case.status != Status.open:
        raise ComplaintError("papers_files", "There is no panel hearing to send papers for")
    if not parent_papers_open(session, case):
        raise ComplaintError(
            "papers_files",
            f"The last day to send papers was {format_date(due)}. "
            "To send something now, contact the clerk to the governors through the school office",
        )
    _check_note(note, "papers_note")


def send_parent_papers(
    session: Session,
    settings: Settings,
    case: Complaint,
    note: str,
    attachment_ids: Sequence[int],
) -> ComplaintMessage:
    """The parent's papers for the panel: a message with the files; the clerk is emailed."""
    check_parent_papers(session, case, note)
    if not attachment_ids:
        raise ComplaintError("papers_files", "Choose at least one file to send")
    claim(session, case)  # a case closed at this moment takes no papers
    message = _add_message(
        session,
        case,
        MessageKind.panel_papers,
        _check_note(note, "papers_note") or "Papers for the panel.",
        Actor.parent(case.display_name),
    )
    _attach(session, case, message, attachment_ids)
    for clerk in _clerks(session, case):
        _email_staff(
            session,
            settings,
            clerk,
            case,
            "staff-panel-papers",
            papers_by=format_date(papers_deadline(session, case) or school_today(now_of(session))),
        )
    return message


def check_school_papers(session: Session, case: Complaint, user: StaffUser, note: str) -> None:
    if not can_handle(session, user, case) or not user.has_role(Role.clerk, Role.chair):
        raise ComplaintError("school_papers_files", "Only the clerk or the chair can add papers")
    if case.stage != Stage.stage2 or case.status != Status.open:
        raise ComplaintError(
            "school_papers_files", "Papers can only be added to an open stage 2 case"
        )
    _check_note(note, "school_papers_note")


def add_school_papers(
    session: Session,
    case: Complaint,
    user: StaffUser,
    note: str,
    attachment_ids: Sequence[int],
) -> ComplaintMessage:
    """The school's papers for the panel (the parent sees them too, as in the bundle)."""
    check_school_papers(session, case, user, note)
    if not attachment_ids:
        raise ComplaintError("school_papers_files", "Choose at least one file to add")
    claim(session, case)
    message = _add_message(
        session,
        case,
        MessageKind.panel_papers,
        _check_note(note, "school_papers_note") or "The school's papers for the panel.",
        Actor.staff(user),
    )
    _attach(session, case, message, attachment_ids)
    return message


def _attach(
    session: Session, case: Complaint, message: ComplaintMessage, attachment_ids: Sequence[int]
) -> None:
    for attachment_id in attachment_ids:
        attachment = session.get(Attachment, attachment_id)
        if attachment is not None and attachment.complaint_id == case.id:
            attachment.message_id = message.id
            attachment.draft_id = None
            session.add(attachment)


def _clerks(session: Session, case: Complaint) -> list[StaffUser]:
    """Who is told about the parent's papers: every clerk who may see the case (else the chair)."""
    users = list(
        session.scalars(
            select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.id)
        )
    )
    for role in (Role.clerk, Role.chair):
        found = [
            u
            for u in users
            if u.has_role(role) and not is_excluded(session, u, case) and can_see(session, u, case)
        ]
        if found:
            return found
    return []


def panel_papers(session: Session, case: Complaint) -> list[PanelPapers]:
    """Every sending of papers on this case, oldest first, each with its files."""
    messages = list(
        session.scalars(
            select(ComplaintMessage)
            .where(
                ComplaintMessage.complaint_id == case.id,
                ComplaintMessage.kind == MessageKind.panel_papers,
            )
            .order_by(ComplaintMessage.id)
        )
    )
    if not messages:
        return []
    files = session.scalars(
        select(Attachment)
        .where(Attachment.message_id.in_([m.id for m in messages]))
        .order_by(Attachment.id)
    )
    by_message: dict[int, list[Attachment]] = {}
    for attachment in files:
        by_message.setdefault(attachment.message_id or 0, []).append(attachment)
    return [PanelPapers(m, by_message.get(m.id or 0, [])) for m in messages]


def can_read_bundle(session: Session, user: StaffUser, case: Complaint) -> bool:
    """The bundle is for those running or sitting on the panel: the clerk and chair (who may
    handle a stage 2 case) and its three members; never the person the case is about."""
    if case.stage != Stage.stage2 or is_excluded(session, user, case):
        return False
    if not can_see(session, user, case):
        return False
    if can_handle(session, user, case):
        return True
    panel = hearing_panel(session, case)
    return panel is not None and user.id in panel.member_ids


def bundle_sent(session: Session, case: Complaint) -> bool:
    """Whether the parent may download the bundle: it has been sent for their own panel."""
    panel = panel_for(session, case)
    return case.stage == Stage.stage2 and panel is not None and panel.bundle_sent_at is not None


def check_send_bundle(session: Session, case: Complaint, user: StaffUser) -> Panel:
    if not can_handle(session, user, case) or not user.has_role(Role.clerk, Role.chair):
        raise ComplaintError("bundle", "Only the clerk or the chair can send the bundle")
    if case.stage != Stage.stage2 or case.status != Status.open:
        raise ComplaintError("bundle", "The bundle can only be sent for an open stage 2 case")
    if is_follower(case):
        raise ComplaintError("bundle", "This case is heard with its lead case: send it there")
    panel = panel_for(session, case)
    if panel is None or panel.hearing_on is None or len(panel.member_ids) != 3:
        raise ComplaintError("bundle", "Record the panel (date and three members) first")
    return panel


def send_bundle(
    session: Session, settings: Settings, case: Complaint, user: StaffUser, *, pages: int
) -> Panel:
    """Tell the three members and the parent that the bundle is ready (sent again after new
    papers, they are told again). Two clerks sending at once send it once."""
    panel = check_send_bundle(session, case, user)
    claim(session, case)
    again = panel.bundle_sent_at is not None
    panel.bundle_sent_at = now_of(session)
    session.add(panel)
    values = {"pages": str(pages)}
    for member_id in panel.member_ids:
        _email_staff(
            session,
            settings,
            session.get(StaffUser, member_id),
            case,
            "staff-panel-bundle",
            **values,
        )
    _email_parent(session, settings, case, "panel-bundle-ready", **values)
    record_event(
        session,
        subject_type="complaint",
        subject_id=case.id,
        tag=BUNDLE_TAG,
        actor=Actor.staff(user),
        detail={"pages": pages, "again": again},
    )
    return panel
