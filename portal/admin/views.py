"""Admin pages for the portal's shared machinery: the mail outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from portal import mail
from portal.accounts.models import Role, StaffUser
from portal.db import SessionDep
from portal.inputs import CleanInputRoute, OptionalRowId, RowId
from portal.security import require_role
from portal.templating import render

router = APIRouter(route_class=CleanInputRoute)
AdminUser = Annotated[StaffUser, Depends(require_role(Role.admin))]
OUTBOX_STATUSES = ("queued", "sent", "failed")


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
    return render(request, "admin/outbox-message.html", {"message": message})


@router.post("/staff/outbox/{message_id}/retry")
def outbox_retry(
    request: Request, session: SessionDep, admin: AdminUser, message_id: RowId
) -> Response:
    if session.get(mail.OutboxMessage, message_id) is None:
        raise HTTPException(status_code=404)
    mail.retry_now(session, message_id)
    session.commit()
    return RedirectResponse(f"/staff/outbox/{message_id}?retried=1", status_code=303)
