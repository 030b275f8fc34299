"""Who the signed-in parent is: the one place the parent's session cookie is read and written.

Photo consent, the policy confirmation and comments on the news channel all take
`SignedInParent` (the `Contact` from the pupil register) or `OptionalParent`. A parent is signed
in by a one-time emailed link (`services.sign_in`); the cookie then holds the id of that link's
row, signed (`portal.signing`) for the purpose "parent-session", bound to the link's token digest
and good for at most `parent_session_max_hours`. The row decides the rest: the session ends after
`parent_session_idle_minutes` without a request, and at once on "Sign out" (`ended_at`), so a
copied cookie stops working then too. HttpOnly, SameSite=Lax, Secure over https. The mechanism
is `portal.one_time_links` (`SessionCookie`), shared with the commenters' cookie.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session

from portal.config import Settings
from portal.consent.models import Contact, ParentSignIn
from portal.consent.services import sign_in as sign_ins
from portal.db import SessionDep
from portal.one_time_links import SessionCookie

PARENT_COOKIE = "portal_parent"
PARENT_PURPOSE = "parent-session"
SIGN_IN_PAGE = "/photos"
_COOKIE = SessionCookie(sign_ins.PARENT_LINKS, name=PARENT_COOKIE, purpose=PARENT_PURPOSE)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _signed_in(request: Request, session: Session) -> sign_ins.SignedIn | None:
    cached = getattr(request.state, "parent", None)
    if cached is not None:
        return cached
    row = _COOKIE.read(request, session, sign_ins.lifetimes(_settings(request)))
    found = sign_ins.signed_in_as(session, row) if row is not None else None
    if found is not None and session.dirty:
        session.commit()  # "last seen", before any route code (as the staff session does)
    request.state.parent = found
    return found


def optional_parent(request: Request, session: SessionDep) -> Contact | None:
    """The signed-in parent or carer, or None."""
    found = _signed_in(request, session)
    return found.contact if found else None


def signed_in_parent(request: Request, session: SessionDep) -> Contact:
    """The signed-in parent or carer; anyone else is sent to /photos to ask for a link (with a
    word that their sign-in has ended, when their browser still had one)."""
    found = _signed_in(request, session)
    if found is None:
        ended = "?ended=1" if request.cookies.get(PARENT_COOKIE) else ""
        raise HTTPException(status_code=303, headers={"Location": SIGN_IN_PAGE + ended})
    return found.contact


SignedInParent = Annotated[Contact, Depends(signed_in_parent)]
OptionalParent = Annotated[Contact | None, Depends(optional_parent)]


def current_sign_in(request: Request) -> ParentSignIn | None:
    """The session row of the parent this request was signed in as (after the dependency)."""
    found = getattr(request.state, "parent", None)
    return found.sign_in if found is not None else None


def start_parent_session(request: Request, response: Response, row: ParentSignIn) -> None:
    """Give the browser the signed cookie for a link just used (and a fresh CSRF value)."""
    _COOKIE.start(request, response, row, sign_ins.lifetimes(_settings(request)))


def end_parent_session(request: Request, response: Response) -> None:
    _COOKIE.clear(request, response)
