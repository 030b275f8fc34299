"""Admin pages for the portal's shared machinery: the mail outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from portal import mail
from portal.accounts.access import require_role
from portal.accounts.models import Role, StaffUser
from portal.db import SessionDep
from portal.history import Actor, record_event
from portal.inputs import CleanInputRoute, OptionalRowId, RowId
from portal.templating import render

router = APIRouter(route_class=CleanInputRoute)
AdminUser = Annotated[StaffUser, Depends(require_role(Role.admin))]
OUTBOX_STATUSES = ("queued", "held", "sent", "failed")


@router.get("/staff/outbox")
def outbox(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    status: str | None = None,
    before: OptionalRowId = None,
) -> Response:
    status = status if status in OUTBOX_STATUSES else None
    messages = mail.outbox_page(session, status=status, limit=50, before_id=before)
    readable: dict[int, bool] = {}
    return render(
        request,
        "admin/outbox.html",
        {
            "messages": [
                _shown(message, _may_read(session, admin, message, readable))
                for message in messages
            ],
            "status": status,
            "statuses": OUTBOX_STATUSES,
            "smtp_configured": request.app.state.settings.smtp_configured,
            "next_before": messages[-1].id if len(messages) == 50 else None,
        },
    )


@router.get("/staff/outbox/{message_id}")
def outbox_message(
    request: Request, session: SessionDep, admin: AdminUser, message_id: RowId
) -> Response:
    message = session.get(mail.OutboxMessage, message_id)
    if message is None:
        raise HTTPException(status_code=404)
    if message.complaint_id is not None:
        # Reading what was sent about a case is a view of the case: it goes in its history,
        # committed before the page is shown.
        record_event(
            session,
            subject_type="complaint",
            subject_id=message.complaint_id,
            tag="complaint:view:outbox",
            actor=Actor.staff(admin),
            detail={"outbox_message_id": message.id},
        )
        session.commit()
    may_read = _may_read(session, admin, message)
    return render(
        request,
        "admin/outbox-message.html",
        {"message": _shown(message, may_read), "body_hidden": not may_read},
    )


HIDDEN_TO = "Not shown: about a case you cannot see"
HIDDEN_SUBJECT = "An email about a case you cannot see"


@dataclass(frozen=True)
class ShownMessage:
    """An outbox row as an admin may read it: for a case they may not see, nothing that says
    who complained or which case (recipient, subject, error text, words) is kept."""

    id: int | None
    to_address: str
    subject: str
    body_text: str
    status: str
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


def _shown(message: mail.OutboxMessage, may_read: bool) -> ShownMessage:
    return ShownMessage(
        id=message.id,
        to_address=message.to_address if may_read else HIDDEN_TO,
        subject=message.subject if may_read else HIDDEN_SUBJECT,
        body_text=message.body_text if may_read else "",
        status=message.status,
        created_at=message.created_at,
        sent_at=message.sent_at,
        attempts=message.attempts,
        next_attempt_at=message.next_attempt_at,
        last_error=(message.last_error if may_read else "Not shown")
        if message.last_error
        else None,
    )


def _may_read(
    session: SessionDep,
    admin: StaffUser,
    message: mail.OutboxMessage,
    known: dict[int, bool] | None = None,
) -> bool:
    """An email about a case shows anything of it (recipient, subject, words) only to an admin
    who may see that case: running the outbox is not a way round who sees what, and a parent's
    address beside 'your complaint' says who complained. Its private link is never shown."""
    if message.complaint_id is None:
        return True
    if known is not None and message.complaint_id in known:
        return known[message.complaint_id]
    from portal.complaints.models import Complaint
    from portal.complaints.services import can_see

    case = session.get(Complaint, message.complaint_id)
    allowed = case is not None and can_see(session, admin, case)
    if known is not None:
        known[message.complaint_id] = allowed
    return allowed


@router.post("/staff/outbox/{message_id}/retry")
def outbox_retry(
    request: Request, session: SessionDep, admin: AdminUser, message_id: RowId
) -> Response:
    if session.get(mail.OutboxMessage, message_id) is None:
        raise HTTPException(status_code=404)
    mail.retry_now(session, message_id)
    session.commit()
    return RedirectResponse(f"/staff/outbox/{message_id}?retried=1", status_code=303)
