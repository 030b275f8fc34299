"""Staff pages for "Emails we could not place": the parents' emails `portal receive-mail` held.

Only the people who sort cases (office, chair, clerk) use them. An email whose reply address
named a case is shown only to those who can see that case, and can be put only on a case the
person can see (never one about them): `services.inbound` applies `services.access`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from portal.accounts.access import require_role
from portal.accounts.models import Role, StaffUser
from portal.complaints import attachments
from portal.complaints.forms import AttachEmailForm, SetAsideEmailForm
from portal.complaints.inbound_mail import parse, reply_text
from portal.complaints.models import Complaint, InboundMail
from portal.complaints.services import can_see
from portal.complaints.services.errors import ComplaintError
from portal.complaints.services.inbound import (
    attach_held,
    check_files,
    held_count,
    held_mail,
    one_held,
    set_aside,
)
from portal.db import SessionDep
from portal.inputs import CleanInputRoute, RowId
from portal.templating import render

router = APIRouter(route_class=CleanInputRoute)

SORT_ROLES = (Role.office, Role.chair, Role.clerk)
SortingUser = Annotated[StaffUser, Depends(require_role(*SORT_ROLES))]
SHOWN_TEXT_CHARS = 20_000
FIELD_IDS = {"reference": "reference", "reason": "set_aside_reason", "mail": "reference"}


def _named_case(session: Session, user: StaffUser, mail: InboundMail) -> Complaint | None:
    if mail.complaint_id is None:
        return None
    case = session.get(Complaint, mail.complaint_id)
    return case if case is not None and can_see(session, user, case) else None


@router.get("/staff/complaints/emails")
def complaint_emails(
    request: Request, session: SessionDep, user: SortingUser, done: str = ""
) -> Response:
    mails = held_mail(session, user)
    return render(
        request,
        "complaints/staff/emails.html",
        {
            "rows": [(mail, _named_case(session, user, mail)) for mail in mails],
            "total": held_count(session, user),
            "done": done if done in ("attached", "set-aside") else "",
        },
    )


def _email_page(
    request: Request,
    session: Session,
    user: StaffUser,
    mail: InboundMail,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    parsed = parse(mail.raw or b"")
    text = parsed.text or ""
    files = check_files(parsed.files)
    named = _named_case(session, user, mail)
    return render(
        request,
        "complaints/staff/email.html",
        {
            "mail": mail,
            "named": named,
            "reply": reply_text(text)[:SHOWN_TEXT_CHARS],
            "whole": text[:SHOWN_TEXT_CHARS],
            "cut": len(text) > SHOWN_TEXT_CHARS,
            "files_kept": [attachments.safe_filename(f.filename) for f in files.kept],
            "files_refused": files.refused,
            "size_kb": max(1, len(mail.raw or b"") // 1024),
            "values": {"reference": named.reference if named else "", **(values or {})},
            "errors": errors or {},
        },
        status_code=status_code,
    )


def _held_or_404(session: Session, user: StaffUser, mail_id: int) -> InboundMail:
    mail = one_held(session, user, mail_id)
    if mail is None:
        raise HTTPException(status_code=404)
    return mail


@router.get("/staff/complaints/emails/{mail_id}")
def complaint_email(
    request: Request, session: SessionDep, user: SortingUser, mail_id: RowId
) -> Response:
    return _email_page(request, session, user, _held_or_404(session, user, mail_id))


def _decided(
    request: Request,
    session: Session,
    user: StaffUser,
    mail: InboundMail,
    values: dict[str, Any],
    work: Any,
    done: str,
) -> Response:
    try:
        work()
    except ComplaintError as error:
        session.rollback()
        current = one_held(session, user, mail.id or 0)
        if current is None:  # someone else dealt with it meanwhile
            return RedirectResponse("/staff/complaints/emails", status_code=303)
        field = FIELD_IDS.get(error.field, error.field)
        return _email_page(
            request,
            session,
            user,
            current,
            values=values,
            errors={field: error.message},
            status_code=422,
        )
    session.commit()
    return RedirectResponse(f"/staff/complaints/emails?done={done}", status_code=303)


@router.post("/staff/complaints/emails/{mail_id}/attach")
def complaint_email_attach(
    request: Request,
    session: SessionDep,
    user: SortingUser,
    mail_id: RowId,
    form: Annotated[AttachEmailForm, Depends()],
) -> Response:
    mail = _held_or_404(session, user, mail_id)
    settings = request.app.state.settings
    return _decided(
        request,
        session,
        user,
        mail,
        form.typed(),
        lambda: attach_held(session, settings, user, mail, form.reference),
        "attached",
    )


@router.post("/staff/complaints/emails/{mail_id}/set-aside")
def complaint_email_set_aside(
    request: Request,
    session: SessionDep,
    user: SortingUser,
    mail_id: RowId,
    form: Annotated[SetAsideEmailForm, Depends()],
) -> Response:
    mail = _held_or_404(session, user, mail_id)
    return _decided(
        request,
        session,
        user,
        mail,
        form.typed(),
        lambda: set_aside(session, user, mail, form.set_aside_reason),
        "set-aside",
    )
