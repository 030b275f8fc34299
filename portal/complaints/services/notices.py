"""Emails to the parent and to staff, rendered from the school's wording."""

from __future__ import annotations

from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.calendar import format_date
from portal.complaints.inbound_mail import case_token, reply_address
from portal.complaints.models import (
    Complaint,
    Stage,
    Status,
)
from portal.complaints.services.deadlines import _by_when, _due
from portal.config import Settings
from portal.db import insert_now
from portal.mail import (
    SECRET_PLACEHOLDER,
    OutboxMessage,
    mail_to_queue,
    queue_mail,
    relate,
)
from portal.school.services import School, school_of
from portal.sealing import seal
from portal.wording.catalogue import CaseView
from portal.wording.services import Rendered
from portal.wording.services import render as render_wording


def _kind_word(complaint: Complaint) -> str:
    return "concern" if complaint.stage == Stage.concern else "complaint"


def next_step(complaint: Complaint, escalate_by: str) -> str:
    """What the parent can do next, the one wording every email and letter of a stage uses.
    `escalate_by` says until when ("by Monday 14 December 2026")."""
    if complaint.stage == Stage.stage2:
        return (
            "This is the end of the school's complaints procedure. If you think the school did "
            "not follow its procedure, you can contact the Department for Education."
        )
    if complaint.stage == Stage.concern:
        return (
            "If you are not satisfied, you can ask for this to be looked at as a formal "
            "complaint (stage 1). Use the button on your case page, or write to the school, "
            f"{escalate_by}. Please say why you are not satisfied."
        )
    return (
        "If you are not satisfied, you can ask for your complaint to be considered by a panel "
        "of governors (stage 2). Use the button on your case page, or write to the clerk to the "
        f"governors, {escalate_by}. Please say why you are not satisfied and what you would like "
        "to happen."
    )


def case_view(complaint: Complaint, school: School, *, escalate_by: str = "") -> CaseView:
    """The case as an email or letter template reads it: words, not the row. `escalate_by`:
    until when the parent may take it further (by default, the case's own escalation date)."""
    if not escalate_by:
        escalate_by = (
            f"by {format_date(complaint.next_deadline)}"
            if complaint.next_deadline is not None
            else f"within {school.escalation_window_days} school days of our letter"
        )
    return CaseView(
        reference=complaint.reference,
        kind=_kind_word(complaint),
        stage=complaint.stage_enum.label.lower(),
        is_concern=complaint.stage == Stage.concern,
        anonymous=complaint.anonymous,
        parent_name=complaint.parent_name,
        child_name=complaint.child_name,
        category=complaint.category,
        received_on=format_date(complaint.received_on) if complaint.received_on else "",
        deadline=_due(complaint.next_deadline),
        acknowledge_by=_by_when(complaint, school),
        next_step=next_step(complaint, escalate_by),
    )


def _email_parent(
    session: Session,
    settings: Settings | None,
    complaint: Complaint,
    key: str,
    *,
    private_link: str | None = None,
    **values: str,
) -> None:
    """Queue the email `key` (portal.wording) to the parent, in the school's wording. A private
    link goes sealed, never into the stored body: the template only ever sees its placeholder."""
    message = parent_email(session, complaint, key, private_link=bool(private_link), **values)
    if message is not None:
        queue_parent_email(session, settings, complaint, message, private_link=private_link)


def parent_email(
    session: Session, complaint: Complaint, key: str, *, private_link: bool = False, **values: str
) -> Rendered | None:
    """The email `key` to the parent, written but not queued (None when there is nobody to
    write to). It reads the case's words, not its id, so it can be written before the case is
    saved. `private_link`: the email carries one (its placeholder, sealed when queued)."""
    if complaint.anonymous or not complaint.parent_email:
        return None
    school = school_of(session)
    if private_link:
        values["private_link"] = SECRET_PLACEHOLDER
    return render_wording(
        session,
        key,
        {"case": case_view(complaint, school), "recipient_name": complaint.parent_name, **values},
        school=school,
    )


def queue_parent_email(
    session: Session,
    settings: Settings | None,
    complaint: Complaint,
    message: Rendered,
    *,
    private_link: str | None = None,
) -> None:
    """Queue an email written by `parent_email` for the (saved) case."""
    mail = parent_mail(session, settings, complaint, message, private_link=private_link)
    queue_parent_mail(session, settings, complaint, mail)


def parent_mail(
    session: Session,
    settings: Settings | None,
    complaint: Complaint,
    message: Rendered,
    *,
    private_link: str | None = None,
) -> OutboxMessage:
    """The email written by `parent_email`, checked, its private link sealed, not yet queued: it
    can be made before the case is saved, and queued after (`queue_parent_mail`)."""
    school = school_of(session)
    return mail_to_queue(
        to=complaint.parent_email,
        subject=message.subject,
        body_text=message.body + f"\n\n{school.name}\n{school.contact_phone}\n",
        sealed_secret=_sealed(settings, private_link),
        held=complaint.status == Status.held,
    )


def queue_parent_mail(
    session: Session, settings: Settings | None, complaint: Complaint, mail: OutboxMessage
) -> None:
    """Queue `mail` (from `parent_mail`) for the case, now saved: it names the case, and the
    parent's reply goes to the case's reply address when the school has one."""
    if complaint.id is None:
        raise ValueError("an email about a case is queued once the case is saved")
    relate(mail, ("complaint", str(complaint.id)), reply_to=reply_to_for(settings, complaint))
    insert_now(session, mail)


def reply_to_for(settings: Settings | None, complaint: Complaint) -> str | None:
    """The case's reply address for an email to its parent (`portal receive-mail` places what
    comes back), or None when the school has none."""
    if settings is None or not settings.reply_address or complaint.id is None:
        return None
    return reply_address(settings.reply_address, case_token(settings.secret_key, complaint.id))


def _sealed(settings: Settings | None, private_link: str | None) -> str | None:
    if not private_link:
        return None
    if settings is None:
        raise ValueError("an email with a private link needs the settings' key to seal it")
    return seal(settings.secret_key, private_link)


def _email_staff(
    session: Session,
    settings: Settings,
    user: StaffUser | None,
    complaint: Complaint,
    key: str,
    **values: str,
) -> None:
    """Queue the email `key` to a member of staff: what happened and the link, no case details."""
    if user is None or not user.is_active:
        return
    school = school_of(session)
    message = render_wording(
        session,
        key,
        {"case": case_view(complaint, school), "recipient_name": user.name, **values},
        school=school,
    )
    queue_mail(
        session,
        to=user.email,
        subject=message.subject,
        body_text=(
            f"{message.body}\n\n"
            f"Open the case: {settings.base_url}/staff/complaints/{complaint.reference}\n"
            "(The case details are only on the portal, not in this email.)\n"
        ),
        related=("complaint", str(complaint.id)),
    )
