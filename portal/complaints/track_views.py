"""How a parent follows their case without an account: the reference and email, or the private link.

Two ways in, one page. The private link from the email (`/track/<token>`) shows the case at that
address. The reference and email, once checked, put the case in a signed cookie scoped to
`/track`, and the case lives at `/track/case`. Every action on the page exists under both
prefixes, so a parent never has to swap from one to the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from portal.clock import unix_seconds
from portal.complaints import attachments, bundle, letters, services
from portal.complaints.attachments import AttachmentError
from portal.complaints.forms import (
    PARENT_TEXT_LIMIT,
    CompanionForm,
    EscalateForm,
    FindCaseForm,
    PanelPapersForm,
    ReplyForm,
    WithdrawForm,
)
from portal.complaints.models import (
    About,
    Attachment,
    Complaint,
    ComplaintMessage,
    MessageKind,
    Stage,
)
from portal.complaints.services import ComplaintError
from portal.config import Settings
from portal.db import SessionDep, now_of
from portal.inputs import CleanInputRoute, RowId, row_id_or_none
from portal.school.services import school_of
from portal.security import client_address, cookie_options
from portal.signing import Signer
from portal.templating import render
from portal.throttle import Limit, attempt

router = APIRouter(route_class=CleanInputRoute)

TRACK_COOKIE = "portal_track"
TRACK_COOKIE_PATH = "/track"
TRACK_COOKIE_SECONDS = 2 * 60 * 60  # signed into the value; the cookie itself ends with the browser
COOKIE_BASE = "/track/case"

NOT_FOUND = (
    "We could not find a case with that reference and email address. Check both and try again."
)
TOO_MANY_TRIES = (
    "You have tried too many times. Wait an hour, then try again. "
    "Or use the private link in the email we sent you."
)
PROCEDURE_COMPLETE = (
    "The school has completed its complaints procedure on this matter, so you cannot reply here."
)


@dataclass(frozen=True)
class ParentAccess:
    """The case this browser may see, and the address its pages and actions live under."""

    case: Complaint
    base: str


# ---------------------------------------------------------------- the signed cookie


# The case id, signed with the case's access token (so a new private link ends the cookie too).
TRACK_PURPOSE = "track"


def _cookie_value(settings: Settings, case: Complaint, now: datetime) -> str:
    return Signer(settings.secret_key).sign(
        TRACK_PURPOSE,
        str(case.id),
        expires_at=unix_seconds(now) + TRACK_COOKIE_SECONDS,
        bound_to=case.access_token_hash,
    )


def _case_from_cookie(request: Request, session: Session) -> Complaint | None:
    value = request.cookies.get(TRACK_COOKIE, "")
    row_id = row_id_or_none(Signer.peek(value) or "")
    case = session.get(Complaint, row_id) if row_id is not None else None
    if case is None:
        return None
    signer = Signer(request.app.state.settings.secret_key)
    now = unix_seconds(now_of(session))
    payload = signer.unsign(TRACK_PURPOSE, value, now=now, bound_to=case.access_token_hash)
    return case if payload == str(case.id) else None


def parent_access(request: Request, session: SessionDep) -> ParentAccess | None:
    """From the private link in the path, or from the cookie. A wrong link is a plain 404."""
    token = request.path_params.get("token")
    if token is not None:
        case = services.find_by_token(session, token)
        if case is None:
            raise HTTPException(status_code=404)
        return ParentAccess(case=case, base=f"/track/{token}")
    case = _case_from_cookie(request, session)
    return ParentAccess(case=case, base=COOKIE_BASE) if case else None


Access = Annotated[ParentAccess | None, Depends(parent_access)]


def _parent_route(method: str, suffix: str = "") -> Callable[[Callable[..., Any]], Any]:
    """One endpoint at /track/case<suffix> (cookie) and /track/{token}<suffix> (private link).

    The cookie route is added first so that "case" is never taken for a token.
    """

    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        for prefix in (COOKIE_BASE, "/track/{token}"):
            router.add_api_route(prefix + suffix, endpoint, methods=[method])
        return endpoint

    return register


def _find_again() -> RedirectResponse:
    return RedirectResponse("/track", status_code=303)


# ---------------------------------------------------------------- finding a case


@router.get("/track")
def track_find(request: Request) -> Response:
    return render(request, "complaints/track/find.html")


@router.post("/track")
def track_find_submit(
    request: Request,
    session: SessionDep,
    form: Annotated[FindCaseForm, Depends()],
) -> Response:
    values = form.typed()
    if errors := form.validate().errors:
        return render(
            request,
            "complaints/track/find.html",
            {"values": values, "errors": errors},
            status_code=422,
        )
    settings: Settings = request.app.state.settings
    limit = Limit.per_hour("track-address", settings.track_attempts_per_hour_per_address)
    if not attempt(request, limit, client_address(request)):  # counted before the look-up
        response = render(
            request,
            "complaints/track/find.html",
            {"values": values, "errors": {"reference": TOO_MANY_TRIES}},
            status_code=429,
        )
        response.headers["Retry-After"] = "3600"
        return response
    case = services.find_for_parent(session, form.reference, form.email)
    if case is None:
        return render(
            request,
            "complaints/track/find.html",
            {"values": values, "errors": {"reference": NOT_FOUND}},
            status_code=422,
        )
    response = RedirectResponse(COOKIE_BASE, status_code=303)
    response.set_cookie(
        TRACK_COOKIE,
        _cookie_value(settings, case, now_of(session)),
        **cookie_options(settings, path=TRACK_COOKIE_PATH),
    )
    return response


@router.post("/track/case/leave")
def track_leave(request: Request) -> Response:
    """For a shared computer: forget the case on this device."""
    response = RedirectResponse("/track?left=1", status_code=303)
    options = cookie_options(request.app.state.settings, path=TRACK_COOKIE_PATH)
    response.delete_cookie(TRACK_COOKIE, **options)
    return response


# ---------------------------------------------------------------- the case page


def _parent_files(session: Session, case: Complaint) -> list[Attachment]:
    return services.attachments_for(session, case, for_parent=True)


def _case_page(
    request: Request,
    session: Session,
    access: ParentAccess,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    case = access.case
    today = services.school_date(session)
    messages = services.messages_for(session, case, for_parent=True)
    files = _parent_files(session, case)
    files_by_message: dict[int, list[Attachment]] = {}
    for attachment in files:
        if attachment.message_id is not None:
            files_by_message.setdefault(attachment.message_id, []).append(attachment)
    return render(
        request,
        "complaints/track/case.html",
        {
            "case": case,
            "about": About(case.about),
            "base": access.base,
            "by_cookie": access.base == COOKIE_BASE,
            "kind_word": "concern" if case.stage == Stage.concern else "complaint",
            "messages": messages,
            "case_files": [a for a in files if a.message_id is None],
            "files_by_message": files_by_message,
            "deadline": services.deadline_view(session, case, today),
            "escalation_open": services.escalation_open(case, today),
            "redirect_where": _where_to_go(session, case.redirect_to),
            "hearing": _hearing(session, case, today),
            "text_limit": PARENT_TEXT_LIMIT,
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status_code,
    )


def _hearing(session: Session, case: Complaint, today: date) -> dict[str, Any] | None:
    """The panel hearing as the parent sees it (only while their stage 2 case is open)."""
    if case.stage != Stage.stage2:
        return None
    panel = services.hearing_panel(session, case)
    if panel is None or panel.hearing_on is None:
        return None
    when, how = services.hearing_words(panel)
    members = services.users_by_id(session, panel.member_ids)
    school = school_of(session)
    return {
        "when": when,
        "how": how,
        "members": [members[m].name for m in panel.member_ids if m in members],
        "papers_by": panel.papers_by,
        "ahead": panel.hearing_on >= today and case.status == "open",
        "papers_open": services.parent_papers_open(session, case, today),
        "papers_due": services.papers_deadline(session, case),
        "school_phone": school.contact_phone,
        "school_email": school.contact_email,
        "bundle_ready": services.bundle_sent(session, case),
        "note_limit": services.PAPERS_NOTE_LIMIT,
        "max_files": attachments.MAX_FILES,
    }


@_parent_route("POST", "/papers")
def track_papers(
    request: Request,
    session: SessionDep,
    access: Access,
    form: Annotated[PanelPapersForm, Depends()],
    papers_files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """The parent's papers for the panel, until the end of the papers date."""
    if access is None:
        return _find_again()
    settings: Settings = request.app.state.settings
    try:
        # The date and the note first, so refused papers never leave their files behind.
        services.check_parent_papers(session, access.case, form.papers_note)
        chosen = [upload for upload in papers_files or [] if upload.filename]
        if not chosen:
            raise ComplaintError("papers_files", "Choose at least one file to send")
        if len(chosen) > attachments.MAX_FILES:
            raise ComplaintError(
                "papers_files", f"You can send up to {attachments.MAX_FILES} files at a time"
            )
        stored = [
            attachments.store(
                session,
                settings,
                filename=upload.filename or "file",
                content=upload.file.read(attachments.MAX_BYTES + 1),
                complaint_id=access.case.id,
            )
            for upload in chosen
        ]
        services.send_parent_papers(
            session, settings, access.case, form.papers_note, [a.id for a in stored if a.id]
        )
    except (AttachmentError, ComplaintError) as error:
        session.rollback()  # the files just stored go with their rows (see attachments.py)
        field = error.field if isinstance(error, ComplaintError) else "papers_files"
        message = error.message if isinstance(error, ComplaintError) else str(error)
        return _case_page(
            request,
            session,
            access,
            errors={field: message},
            values=form.typed(),
            status_code=422,
        )
    session.commit()
    return RedirectResponse(f"{access.base}?papers=1#hearing", status_code=303)


@_parent_route("GET", "/bundle.pdf")
def track_bundle_pdf(request: Request, session: SessionDep, access: Access) -> Response:
    """The panel bundle, once the clerk has sent it."""
    if access is None:
        return _find_again()
    if not services.bundle_sent(session, access.case):
        raise HTTPException(status_code=404)
    made = bundle.build_bundle(session, request.app.state.settings, access.case)
    return Response(
        made.content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": attachments.content_disposition(
                bundle.bundle_filename(access.case)
            ),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@_parent_route("GET", "/hearing.ics")
def track_hearing_invitation(request: Request, session: SessionDep, access: Access) -> Response:
    if access is None:
        return _find_again()
    panel = services.hearing_panel(session, access.case)
    if access.case.stage != Stage.stage2 or panel is None or panel.hearing_on is None:
        raise HTTPException(status_code=404)
    content = services.hearing_invitation(
        panel, access.case, school_of(session).name, now_of(session)
    )
    return Response(
        content,
        media_type="text/calendar",
        headers={
            "Content-Disposition": attachments.content_disposition(
                f"{access.case.reference}-panel-hearing.ics"
            ),
            "Cache-Control": "private, no-store",
        },
    )


@_parent_route("POST", "/companion")
def track_companion(
    request: Request,
    session: SessionDep,
    access: Access,
    form: Annotated[CompanionForm, Depends()],
) -> Response:
    if access is None:
        return _find_again()
    try:
        services.ask_for_companion(
            session, request.app.state.settings, access.case, form.companion_name
        )
    except ComplaintError as error:
        session.rollback()
        return _case_page(
            request,
            session,
            access,
            errors={error.field: error.message},
            values=form.typed(),
            status_code=422,
        )
    session.commit()
    return RedirectResponse(f"{access.base}?companion=1#hearing", status_code=303)


@_parent_route("GET")
def track_case(request: Request, session: SessionDep, access: Access) -> Response:
    if access is None:
        return _find_again()
    return _case_page(request, session, access)


@_parent_route("GET", "/attachments/{attachment_id:int}")
def track_attachment(
    request: Request, session: SessionDep, access: Access, attachment_id: RowId
) -> Response:
    if access is None:
        return _find_again()
    allowed = {a.id: a for a in _parent_files(session, access.case)}
    attachment = allowed.get(attachment_id)
    if attachment is None:
        raise HTTPException(status_code=404)
    try:
        return attachments.download_response(request.app.state.settings, attachment)
    except FileNotFoundError as error:
        raise HTTPException(status_code=404) from error


@_parent_route("GET", "/letters/{message_id:int}.pdf")
def track_letter_pdf(
    request: Request, session: SessionDep, access: Access, message_id: RowId
) -> Response:
    if access is None:
        return _find_again()
    message = session.get(ComplaintMessage, message_id)
    if (
        message is None
        or message.complaint_id != access.case.id
        or not MessageKind(message.kind).is_letter
    ):
        raise HTTPException(status_code=404)
    content = letters.letter_pdf(school_of(session), access.case, message)
    filename = letters.letter_filename(access.case, message)
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": attachments.content_disposition(filename),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


# ---------------------------------------------------------------- the parent's actions


@_parent_route("POST", "/reply")
def track_reply(
    request: Request,
    session: SessionDep,
    access: Access,
    form: Annotated[ReplyForm, Depends()],
    attachment: Annotated[UploadFile | None, File()] = None,
) -> Response:
    if access is None:
        return _find_again()
    case = access.case
    settings: Settings = request.app.state.settings
    body, values = form.body, form.typed()
    stored: Attachment | None = None
    try:
        # Check the words first, so a refused reply never leaves its file behind.
        services.check_reply(session, settings, case, body)
        if attachment is not None and attachment.filename:
            stored = attachments.store(
                session,
                settings,
                filename=attachment.filename,
                content=attachment.file.read(attachments.MAX_BYTES + 1),
                complaint_id=case.id,
            )
        services.parent_reply(
            session, settings, case, body, [stored.id] if stored and stored.id else []
        )
    except AttachmentError as error:
        session.rollback()
        return _case_page(
            request,
            session,
            access,
            errors={"attachment": str(error)},
            values=values,
            status_code=422,
        )
    except ComplaintError as error:
        session.rollback()  # the file just stored goes with its row (see attachments.py)
        return _case_page(
            request,
            session,
            access,
            errors={error.field: error.message},
            values=values,
            status_code=422,
        )
    session.commit()
    return RedirectResponse(f"{access.base}?replied=1", status_code=303)


@_parent_route("GET", "/withdraw")
def track_withdraw_confirm(request: Request, access: Access) -> Response:
    if access is None:
        return _find_again()
    if not access.case.is_active:
        return RedirectResponse(access.base, status_code=303)
    return _withdraw_page(request, access)


def _withdraw_page(
    request: Request,
    access: ParentAccess,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    case = access.case
    return render(
        request,
        "complaints/track/withdraw.html",
        {
            "case": case,
            "base": access.base,
            "kind_word": "concern" if case.stage == Stage.concern else "complaint",
            "text_limit": PARENT_TEXT_LIMIT,
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status_code,
    )


@_parent_route("POST", "/withdraw")
def track_withdraw(
    request: Request,
    session: SessionDep,
    access: Access,
    form: Annotated[WithdrawForm, Depends()],
) -> Response:
    if access is None:
        return _find_again()
    if errors := form.validate().errors:
        return _withdraw_page(request, access, errors=errors, values=form.typed(), status_code=422)
    try:
        services.withdraw(session, request.app.state.settings, access.case, form.reason)
    except ComplaintError as error:
        session.rollback()
        return _withdraw_page(
            request,
            access,
            errors={error.field: error.message},
            values=form.typed(),
            status_code=422,
        )
    session.commit()
    return RedirectResponse(f"{access.base}?withdrawn=1", status_code=303)


@_parent_route("POST", "/escalate")
def track_escalate(
    request: Request,
    session: SessionDep,
    access: Access,
    form: Annotated[EscalateForm, Depends()],
) -> Response:
    if access is None:
        return _find_again()
    if errors := form.validate().errors:
        return _case_page(
            request, session, access, errors=errors, values=form.typed(), status_code=422
        )
    try:
        services.escalate(session, request.app.state.settings, access.case, form.reasons)
    except ComplaintError as error:
        session.rollback()
        return _case_page(
            request,
            session,
            access,
            errors={error.field: error.message},
            values=form.typed(),
            status_code=422,
        )
    session.commit()
    return RedirectResponse(f"{access.base}?escalated=1", status_code=303)


def _where_to_go(session: Session, procedure_name: str | None) -> str:
    """Where the school said a redirected matter goes (its words, and a link if it gave one)."""
    for entry in school_of(session).out_of_scope:
        if entry.name == procedure_name:
            return f"{entry.where} {entry.url}".strip()
    return ""
