"""Admin pages for the portal's shared machinery: the mail outbox."""

from __future__ import annotations

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
    return render(
        request,
        "admin/outbox.html",
        {
            "messages": messages,
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
    return render(
        request,
        "admin/outbox-message.html",
        {"message": message, "body_hidden": not _may_read(session, admin, message)},
    )


def _may_read(session: SessionDep, admin: StaffUser, message: mail.OutboxMessage) -> bool:
    """An email about a case shows its words only to an admin who may see that case: running
    the outbox is not a way round who sees what. Its private link is never shown to anyone."""
    if message.complaint_id is None:
        return True
    from portal.complaints.models import Complaint
    from portal.complaints.services import can_see

    case = session.get(Complaint, message.complaint_id)
    return case is not None and can_see(session, admin, case)


@router.post("/staff/outbox/{message_id}/retry")
def outbox_retry(
    request: Request, session: SessionDep, admin: AdminUser, message_id: RowId
) -> Response:
    if session.get(mail.OutboxMessage, message_id) is None:
        raise HTTPException(status_code=404)
    mail.retry_now(session, message_id)
    session.commit()
    return RedirectResponse(f"/staff/outbox/{message_id}?retried=1", status_code=303)
