"""Who is commenting: the one place the commenter's cookie is read and written.

A parent or carer on the register is signed in by `portal.consent.parents` (their cookie). A
commenter not on the register (when the school lets anyone comment) has this domain's own
cookie: the id of their used link's row, signed for the purpose "commenter-session", bound to
the link's token digest, and good for at most `commenters.SESSION_HOURS`; the row decides the
rest (idle time, sign-out), as for parents. HttpOnly, SameSite=Lax, Secure over https.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from portal.clock import unix_seconds
from portal.consent.models import Contact
from portal.consent.parents import optional_parent
from portal.db import SessionDep, now_of
from portal.inputs import row_id_or_none
from portal.moderation.models import Commenter, CommenterLink
from portal.moderation.services import commenters
from portal.moderation.services.commenters import Identity
from portal.security import cookie_options, rotate_csrf, set_browser_cookies
from portal.signing import Signer

COMMENTER_COOKIE = "portal_commenter"
COMMENTER_PURPOSE = "commenter-session"


def _commenter(request: Request, session: SessionDep) -> Commenter | None:
    value = request.cookies.get(COMMENTER_COOKIE, "")
    row_id = row_id_or_none(Signer.peek(value) or "") if value else None
    row = session.get(CommenterLink, row_id) if row_id is not None else None
    if row is None:
        return None
    now = now_of(session)
    payload = Signer(request.app.state.settings.secret_key).unsign(
        COMMENTER_PURPOSE, value, now=unix_seconds(now), bound_to=row.token_hash
    )
    if payload != str(row.id):
        return None
    found = commenters.session_commenter(session, row.id, now=now)
    if found is not None and session.dirty:
        session.commit()
    return found


def who_is_commenting(
    request: Request,
    session: SessionDep,
    contact: Annotated[Contact | None, Depends(optional_parent)],
) -> Identity | None:
    """The signed-in parent (with their commenter row, once they have one), or the confirmed
    commenter, or None."""
    if contact is not None:
        commenter = session.scalar(select(Commenter).where(Commenter.contact_id == contact.id))
        return Identity(commenter=commenter, contact=contact)
    commenter = _commenter(request, session)
    return Identity(commenter=commenter, contact=None) if commenter is not None else None


CommentingAs = Annotated[Identity | None, Depends(who_is_commenting)]


def start_commenter_session(request: Request, response: Response, row: CommenterLink) -> None:
    settings = request.app.state.settings
    assert row.used_at is not None
    ends = row.used_at + timedelta(hours=commenters.SESSION_HOURS)
    value = Signer(settings.secret_key).sign(
        COMMENTER_PURPOSE, str(row.id), expires_at=unix_seconds(ends), bound_to=row.token_hash
    )
    rotate_csrf(request)
    response.set_cookie(COMMENTER_COOKIE, value, **cookie_options(settings))
    set_browser_cookies(request, response)
