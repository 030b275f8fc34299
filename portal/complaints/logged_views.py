"""Office logs a concern or complaint that came by phone, letter, email or in person.

Thin routes: the form class reads what was typed, `services.log_complaint` applies the rules
and goes through the same path as the parent's form. The confirmation page shows the reference;
the person who logged it sees more only if they may see the case (it may be about them).
"""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from portal.accounts.access import require_role
from portal.accounts.models import StaffUser
from portal.clock import unix_seconds
from portal.complaints import attachments, drafts, services
from portal.complaints.attachments import ALLOWED_DESCRIPTION, AttachmentError
from portal.complaints.forms import LogComplaintForm
from portal.complaints.models import About, Complaint, ComplaintMessage, MessageKind
from portal.complaints.staff_views import ComplaintsUser
from portal.config import Settings
from portal.db import SessionDep, now_of
from portal.inputs import CleanInputRoute
from portal.school.services import school_of
from portal.security import Forbidden, cookie_options
from portal.signing import Signer, token_digest
from portal.templating import render
from portal.wording.services import render as render_wording

router = APIRouter(route_class=CleanInputRoute)

LoggingUser = Annotated[StaffUser, Depends(require_role(*services.LOGGING_ROLES))]

NEW_PATH = "/staff/complaints/new"
DONE_PATH = "/staff/complaints/new/done"
DONE_COOKIE = "portal_logged"
DONE_PURPOSE = "complaint-logged"
DONE_SECONDS = 30 * 60
TOKEN_LIMIT = 100
# The service names the procedure's fields; the page's date boxes have their own ids.
FIELD_IDS = {"received_on": "received_on_day", "happened_on": "happened_on_day"}


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _page(
    request: Request,
    session: Session,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    kept: list[Any] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "complaints/staff/log-complaint.html",
        {
            "values": values,
            "errors": errors or {},
            "kept": kept or [],
            "channels": services.LOGGED_CHANNELS,
            "abouts": list(About),
            "categories": school_of(session).categories,
            "allowed_files": ALLOWED_DESCRIPTION,
        },
        status_code=status_code,
    )


@router.get(NEW_PATH)
def staff_log_complaint(request: Request, session: SessionDep, user: LoggingUser) -> Response:
    return _page(request, session, {"form_token": secrets.token_urlsafe(24)})


@router.post(NEW_PATH)
def staff_log_complaint_save(
    request: Request,
    session: SessionDep,
    user: LoggingUser,
    form: Annotated[LogComplaintForm, Depends()],
    scan: Annotated[UploadFile | None, File()] = None,
) -> Response:
    settings = _settings(request)
    now = now_of(session)
    values = form.typed()
    token = form.form_token.strip()
    if not token or len(token) > TOKEN_LIMIT:
        token = secrets.token_urlsafe(24)
        values["form_token"] = token
    token_hash = token_digest(token)
    if (earlier := services.logged_with(session, token_hash)) is not None:
        return _done(request, earlier, user)
    draft = drafts.find(session, form.scan_draft.strip()[:TOKEN_LIMIT] or None, now)
    draft_token = form.scan_draft.strip() if draft is not None else ""
    errors: dict[str, str] = {}
    if scan is not None and scan.filename:
        if draft is None:
            draft, draft_token = drafts.start(session, now)
        try:
            attachments.store(
                session,
                settings,
                filename=scan.filename,
                content=scan.file.read(attachments.MAX_BYTES + 1),
                draft_id=draft.token_hash,
            )
        except AttachmentError as error:
            errors["scan"] = str(error)
    checked = form.validate()
    errors = {**checked.errors, **errors}
    school_day = services.school_date(session)
    for field_name, message in services.validate_logged(
        checked.value, school_of(session), school_day
    ).items():
        errors.setdefault(FIELD_IDS.get(field_name, field_name), message)
    if errors:
        return _refused(request, session, values, errors, draft, draft_token)
    kept = drafts.files_of(session, draft)
    logged = checked.value
    logged.new.attachment_ids = [file.id for file in kept if file.id is not None]
    try:
        received = services.log_complaint(session, settings, logged, user, token_hash=token_hash)
        if draft is not None:
            drafts.discard(session, draft)
        session.commit()
    except services.ComplaintError as error:
        return _refused(
            request,
            session,
            values,
            {FIELD_IDS.get(error.field, error.field): error.message},
            draft,
            draft_token,
        )
    except IntegrityError:
        # The same form, sent twice at once: the other sending made the case.
        session.rollback()
        earlier = services.logged_with(session, token_hash)
        if earlier is None:
            raise
        return _done(request, earlier, user)
    return _done(request, received.complaint, user)


def _refused(
    request: Request,
    session: Session,
    values: dict[str, Any],
    errors: dict[str, str],
    draft: Any,
    draft_token: str,
) -> Response:
    """Show the form again with what was typed; a scan that passed its checks is kept (the
    draft is committed), so nothing is asked twice."""
    if draft is not None and drafts.files_of(session, draft):
        session.commit()
        values = {**values, "scan_draft": draft_token}
    else:
        session.rollback()
        values = {**values, "scan_draft": ""}
    kept = drafts.files_of(session, draft) if values["scan_draft"] else []
    return _page(request, session, values, errors=errors, kept=kept, status_code=422)


def _done(request: Request, complaint: Complaint, user: StaffUser) -> Response:
    response = RedirectResponse(DONE_PATH, status_code=303)
    now = unix_seconds(request.app.state.clock.now())
    value = Signer(_settings(request).secret_key).sign(
        DONE_PURPOSE,
        json.dumps({"reference": complaint.reference, "user": user.id}),
        expires_at=now + DONE_SECONDS,
    )
    response.set_cookie(
        DONE_COOKIE,
        value,
        **cookie_options(_settings(request), path=DONE_PATH, max_age=DONE_SECONDS),
    )
    return response


def _done_reference(request: Request, user: StaffUser) -> str | None:
    body = Signer(_settings(request).secret_key).unsign(
        DONE_PURPOSE,
        request.cookies.get(DONE_COOKIE, ""),
        now=unix_seconds(request.app.state.clock.now()),
    )
    try:
        payload = json.loads(body) if body is not None else None
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("user") != user.id:
        return None
    reference = payload.get("reference")
    return reference if isinstance(reference, str) else None


@router.get(DONE_PATH)
def staff_log_complaint_done(request: Request, session: SessionDep, user: LoggingUser) -> Response:
    """The reference, always. The rest (the case, its letter, the parent's address) only for
    someone who may see the case: office logging a complaint about herself sees the reference
    and who it went to, nothing more."""
    reference = _done_reference(request, user)
    case = services.find_by_reference(session, reference) if reference else None
    if case is None:
        return RedirectResponse(NEW_PATH, status_code=303)
    sees = services.can_see(session, user, case)
    return render(
        request,
        "complaints/staff/log-complaint-done.html",
        {
            "case": case,
            "kind": "complaint" if case.asked_for_formal else "concern",
            "sees": sees,
            "may_print": sees and services.can_triage(session, user, case),
            "went_to": " or the ".join(
                role.label.lower() for role in services.handler_roles(case.about_enum)
            ),
        },
    )


def acknowledgement_of(session: Session, case: Complaint) -> ComplaintMessage | None:
    return session.scalars(
        select(ComplaintMessage)
        .where(
            ComplaintMessage.complaint_id == case.id,
            ComplaintMessage.kind == MessageKind.acknowledgement,
        )
        .order_by(ComplaintMessage.id)
    ).first()


@router.get("/staff/complaints/{reference}/acknowledgement-for-post.pdf")
def staff_acknowledgement_for_post(
    request: Request, session: SessionDep, user: ComplaintsUser, reference: str
) -> Response:
    """The acknowledgement letter to post to a parent with no email, with their private link
    (the only way it reaches them). Only those who sort the case may print it; each printing is
    in the case's history."""
    case = services.find_by_reference(session, reference)
    if case is None or not services.can_see(session, user, case):
        raise HTTPException(status_code=404)
    if not services.can_triage(session, user, case):
        raise Forbidden()
    message = acknowledgement_of(session, case)
    if message is None or not case.by_post:
        raise HTTPException(status_code=404)
    from portal.complaints.letters import letter_pdf

    school = school_of(session)
    body = message.body
    link = services.paper_link(_settings(request), case)
    if link is not None:
        follow = render_wording(
            session,
            "acknowledgement-by-post",
            {"case": services.case_view(case, school), "private_link": link},
            school=school,
        )
        body = f"{body}\n\n{follow.body}"
    printed = ComplaintMessage(
        complaint_id=case.id,
        kind=message.kind,
        author_type=message.author_type,
        author_label=message.author_label,
        body=body,
        created_at=message.created_at,
    )
    content = letter_pdf(school, case, printed)
    services.record_view(session, case, user, read="the acknowledgement letter for post (PDF)")
    session.commit()
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": attachments.content_disposition(
                f"{case.reference}-acknowledgement-for-post.pdf"
            ),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
