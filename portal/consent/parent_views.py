"""The parents' side of photo consent: /photos (ask for a sign-in link), the link itself, the
answers page and signing out. Parents have no passwords; who is signed in is decided in one
place, `portal.consent.parents`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from portal.config import Settings
from portal.consent.forms import LinkRequestForm
from portal.consent.parents import (
    OptionalParent,
    SignedInParent,
    current_sign_in,
    end_parent_session,
    start_parent_session,
)
from portal.consent.services import sign_in as sign_ins
from portal.db import SessionDep
from portal.inputs import CleanInputRoute
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


def _link_page(request: Request, session: SessionDep, token: str) -> Response:
    usable = len(token) <= TOKEN_MAX_CHARS and sign_ins.waiting_link(session, token) is not None
    return render(
        request,
        "consent/photos-sign-in.html",
        {"usable": usable, "token": token if usable else ""},
        status_code=200 if usable else 410,
    )


@router.get("/photos/sign-in/{token}")
def photos_sign_in(request: Request, session: SessionDep, token: str) -> Response:
    """The link only shows a button: opening it (as an email scanner may) does not use it."""
    return _link_page(request, session, token)


@router.post("/photos/sign-in/{token}")
def photos_sign_in_use(request: Request, session: SessionDep, token: str) -> Response:
    row = sign_ins.use_link(session, token) if len(token) <= TOKEN_MAX_CHARS else None
    if row is None:
        session.rollback()
        return _link_page(request, session, token)
    session.commit()
    response = _see_other("/photos/answers")
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


@router.get("/photos/answers")
def photos_answers(request: Request, session: SessionDep, parent: SignedInParent) -> Response:
    return render(
        request,
        "consent/photos-answers.html",
        {"parent": parent, "children": sign_ins.children_of(session, parent)},
    )
