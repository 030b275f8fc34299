"""Who is commenting: the one place the commenter's cookie is read and written.

A parent or carer on the register is signed in by `portal.consent.parents` (their cookie). A
commenter not on the register (when the school lets anyone comment) has this domain's own
cookie: the id of their used link's row, signed for the purpose "commenter-session", bound to
the link's token digest, and good for at most `commenters.SESSION_HOURS`; the row decides the
rest (idle time, sign-out), as for parents: the same mechanism, `portal.one_time_links`
(`SessionCookie`). HttpOnly, SameSite=Lax, Secure over https.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from portal.consent.models import Contact
from portal.consent.parents import optional_parent
from portal.db import SessionDep
from portal.moderation.models import Commenter, CommenterLink
from portal.moderation.services import commenters
from portal.moderation.services.commenters import Identity
from portal.one_time_links import SessionCookie

COMMENTER_COOKIE = "portal_commenter"
COMMENTER_PURPOSE = "commenter-session"
_COOKIE = SessionCookie(
    commenters.COMMENTER_LINKS, name=COMMENTER_COOKIE, purpose=COMMENTER_PURPOSE
)


def _commenter(request: Request, session: SessionDep) -> Commenter | None:
    row = _COOKIE.read(request, session, commenters.LIFETIMES)
    found = commenters.commenter_of(session, row) if row is not None else None
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
    _COOKIE.start(request, response, row, commenters.LIFETIMES)
