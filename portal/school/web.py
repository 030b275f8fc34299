"""The school profile for a request: `SchoolDep`, the one place routes get it from.

Hosting several schools later changes `current_school` (by host name, say), not its users.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from portal.db import SessionDep
from portal.school.services import NOT_SET_UP, School, school_of

log = logging.getLogger("portal")


def current_school(request: Request, session: SessionDep) -> School:
    school = school_of(session)
    request.state.school = school
    return school


SchoolDep = Annotated[School, Depends(current_school)]


def school_for_request(request: Request) -> School:
    """The school for a page whose route did not ask for it: read through the request's own
    database session when it has one, else a short one (error pages). Should the database be
    the trouble, the page still renders, with a plain name."""
    school = getattr(request.state, "school", None)
    if school is not None:
        return school
    try:
        session = getattr(request.state, "db_session", None)
        if session is not None and session.in_transaction():
            school = school_of(session)  # the route's own, still open: no second connection
        else:
            with Session(request.app.state.engine) as own:
                school = school_of(own)
    except Exception:
        log.exception("could not read the school profile for %s", request.url.path)
        return NOT_SET_UP
    request.state.school = school
    return school
