"""The parents' side of photo consent: /photos (ask for a sign-in link), the link itself, the
answers page and signing out. Parents have no passwords; who is signed in is decided in one
place, `portal.consent.parents`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from portal.config import Settings
from portal.consent.forms import LinkRequestForm, NextForm, ParentAnswersForm
from portal.consent.models import Contact, Pupil
from portal.consent.parents import (
    OptionalParent,
    SignedInParent,
    current_sign_in,
    end_parent_session,
    start_parent_session,
)
from portal.consent.services import online
from portal.consent.services import sign_in as sign_ins
from portal.consent.services.answers import AnswerRefused
from portal.consent.services.purposes import purposes
from portal.db import SessionDep, now_of
from portal.inputs import CleanInputRoute, RowId, row_id_or_none
from portal.security import client_address
from portal.templating import render
from portal.throttle import Limit, throttle_of

router = APIRouter(route_class=CleanInputRoute)
TOKEN_MAX_CHARS = 100
TOO_MANY = (
    "You have asked for too many links. Wait an hour, then try again, or phone the school office."
)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _see_other(to: str) -> Response:
    return RedirectResponse(to, status_code=303)


# ---------------------------------------------------------------- asking for a link


@router.get("/photos")
def photos(request: Request, parent: OptionalParent) -> Response:
    return render(request, "consent/photos.html", {"parent": parent})


@router.post("/photos")
def photos_request(
    request: Request,
    session: SessionDep,
    parent: OptionalParent,
    form: Annotated[LinkRequestForm, Depends()],
) -> Response:
    """Every address gets the same page and status: an address on the register is sent a link,
    any other an email saying it is not on it. Both limits are counted before the look-up: per
    visitor (refused with a message) and per address (the same page, with no more emails)."""
    checked = form.validate()
    if checked.value is None:
        return render(
            request,
            "consent/photos.html",
            {"parent": parent, "values": form.typed(), "errors": checked.errors},
            status_code=422,
        )
    settings = _settings(request)
    per_client = Limit.per_hour(
        "parent-link-client", settings.parent_link_requests_per_hour_per_client
    )
    per_address = Limit.per_hour("parent-link-address", settings.parent_links_per_hour_per_address)
    refused = throttle_of(request).attempt_all(
        (per_client, (client_address(request),)), (per_address, (checked.value.lower(),))
    )
    if refused is per_client:
        response = render(
            request,
            "consent/photos.html",
            {"parent": parent, "values": form.typed(), "errors": {"email": TOO_MANY}},
            status_code=429,
        )
        response.headers["Retry-After"] = "3600"
        return response
    if refused is None:
        sign_ins.request_link(session, settings, checked.value)
        session.commit()
    return render(
        request,
        "consent/photos-link-sent.html",
        {"email": checked.value, "minutes": settings.parent_link_minutes},
    )


# ---------------------------------------------------------------- the link in the email


def _link_page(request: Request, session: SessionDep, token: str, next_path: str) -> Response:
    usable = len(token) <= TOKEN_MAX_CHARS and sign_ins.waiting_link(session, token) is not None
    return render(
        request,
        "consent/photos-sign-in.html",
        {"usable": usable, "token": token if usable else "", "next": sign_ins.safe_next(next_path)},
        status_code=200 if usable else 410,
    )


@router.get("/photos/sign-in/{token}")
def photos_sign_in(request: Request, session: SessionDep, token: str) -> Response:
    """The link only shows a button: opening it (as an email scanner may) does not use it. A
    link asked for on a news post carries `next`, the post to go back to (local /news/ only)."""
    return _link_page(request, session, token, request.query_params.get("next", ""))


@router.post("/photos/sign-in/{token}")
def photos_sign_in_use(
    request: Request, session: SessionDep, token: str, form: Annotated[NextForm, Depends()]
) -> Response:
    row = sign_ins.use_link(session, token) if len(token) <= TOKEN_MAX_CHARS else None
    if row is None:
        session.rollback()
        return _link_page(request, session, token, form.next)
    session.commit()
    response = _see_other(sign_ins.safe_next(form.next) or "/photos/answers")
    start_parent_session(request, response, row)
    return response


@router.post("/photos/sign-out")
def photos_sign_out(request: Request, session: SessionDep, parent: OptionalParent) -> Response:
    row = current_sign_in(request)
    if parent is not None and row is not None:
        sign_ins.end_session(session, row)
        session.commit()
    response = _see_other("/photos?signed_out=1")
    end_parent_session(request, response)
    return response


# ---------------------------------------------------------------- the answers


async def _posted_fields(request: Request) -> dict[str, str]:
    """The posted form's text fields (already cleaned): the answers' fields follow the purposes."""
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str)}


PostedFields = Annotated[dict[str, str], Depends(_posted_fields)]


def _prefix(pupil: Pupil) -> str:
    return f"c{pupil.id}-"


def _answers_page(
    request: Request,
    session: Session,
    parent: Contact,
    *,
    pupil_id: int | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    shown = purposes(session)
    now = now_of(session)
    children = [
        {
            "child": child,
            "pupil": child.pupil,
            "prefix": _prefix(child.pupil),
            "asks_pupil": online.asks_pupil(session, child.pupil, now),
            "answers": online.family_answers(session, parent, child.pupil, shown)
            if child.may_answer
            else [],
            "typed": (values or {}) if child.pupil.id == pupil_id else {},
        }
        for child in sign_ins.children_of(session, parent)
    ]
    saved = row_id_or_none(request.query_params.get("saved", ""))
    return render(
        request,
        "consent/photos-answers.html",
        {
            "parent": parent,
            "children": children,
            "saved": next((c["pupil"] for c in children if c["pupil"].id == saved), None),
            "errors": errors or {},
        },
        status_code=422 if errors else 200,
    )


@router.get("/photos/answers")
def photos_answers(request: Request, session: SessionDep, parent: SignedInParent) -> Response:
    return _answers_page(request, session, parent)


@router.post("/photos/answers/{pupil_id}")
def photos_answers_save(
    request: Request,
    session: SessionDep,
    parent: SignedInParent,
    pupil_id: RowId,
    posted: PostedFields,
) -> Response:
    """Answers for one child. Another family's child, a child who has left, or one this contact
    has no parental responsibility for is not found (404), whatever the form says."""
    pupil = session.get(Pupil, pupil_id)
    if pupil is None or not online.may_answer(session, parent, pupil):
        raise HTTPException(status_code=404)
    form = ParentAnswersForm.read(posted)
    checked = form.validate_for(
        purposes(session),
        prefix=_prefix(pupil),
        child=pupil.first_name,
        pupil_asked=online.asks_pupil(session, pupil, now_of(session)),
    )
    if checked.value is None:
        return _answers_page(
            request, session, parent, pupil_id=pupil.id, values=form.typed(), errors=checked.errors
        )
    try:
        online.record_online(session, _settings(request), parent, pupil, checked.value)
        session.commit()
    except online.WordingChanged as changed:
        session.rollback()
        return _answers_page(
            request,
            session,
            parent,
            pupil_id=pupil.id,
            values=form.typed(),
            errors={f"{_prefix(pupil)}answer_{changed.purpose.key}": str(changed)},
        )
    except AnswerRefused:
        session.rollback()
        raise HTTPException(status_code=404) from None
    return _see_other(f"/photos/answers?saved={pupil.id}#child-{pupil.id}")
