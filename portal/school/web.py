"""The school profile for a request: `SchoolDep`, the one place routes get it from.

Hosting several schools later changes `current_school` (by host name, say), not its users.
"""

from __future__ import annotations

import logging
from typing import Annotated

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from portal.accounts.access import optional_user
from portal.accounts.models import Role
from portal.db import SessionDep
from portal.school.services import NOT_SET_UP, School, school_of
from portal.templating import render

log = logging.getLogger("portal")


def current_school(request: Request, session: SessionDep) -> School:
    school = school_of(session)
    _remember(request, school)
    return school


def _remember(request: Request, school: School) -> None:
    request.state.school = school
    if school is not NOT_SET_UP:
        request.app.state.last_school = school


def last_known_school(request: Request) -> School | None:
    """The profile this app read last, for a page that must not touch the database (it may be
    the trouble): possibly a moment out of date. Kept by the app, not the process, so that two
    portals in one process (tests today, several schools later) never show each other's."""
    return getattr(request.app.state, "last_school", None)


SchoolDep = Annotated[School, Depends(current_school)]


def school_for_request(request: Request) -> School:
    """The school for a page whose route did not ask for it: read through the request's own
    database session when it has one, else a short one (error pages). Should the database be
    the trouble, the page still renders, with a plain name."""
    school = getattr(request.state, "school", None)
    if school is not None:
        return school
    session = getattr(request.state, "db_session", None)
    if session is not None:
        try:
            school = school_of(session)  # the route's own: no second connection
        except Exception:  # its transaction failed (the page may be saying so): try afresh
            school = None
    if school is None:
        try:
            with request.app.state.sessions() as own:
                school = school_of(own)
        except Exception:
            log.exception("could not read the school profile for %s", request.url.path)
            return NOT_SET_UP
    _remember(request, school)
    return school


# ---------------------------------------------------------------- the first run

# Paths that work whether or not the school has finished setting up: the files every page needs,
# the health check, and staff sign-in.
ALWAYS_OPEN = ("/healthz", "/brand.css", "/crest.svg", "/favicon.ico", "/robots.txt")
ALWAYS_OPEN_PREFIXES = ("/static/", "/assets/", "/crest/")
STAFF_ALWAYS_OPEN = ("/staff/login", "/staff/logout")
# What an admin may open before the portal is open: the setup steps and what they link to.
SETUP_PREFIXES = ("/staff/setup", "/staff/settings", "/staff/users")


class NotOpenYet(Exception):
    """The school has not finished setting up: parents (and staff who are not admins) wait."""

    def __init__(self, staff: bool) -> None:
        super().__init__("not open yet")
        self.staff = staff


class SetUpFirst(Exception):
    """An admin of a portal that is not open yet: the setup steps come first."""


async def portal_gate(request: Request, session: SessionDep) -> None:
    """Until an admin opens the portal (`set_up_at`), parents see a calm "not open yet" page,
    staff other than admins are told an administrator must finish, and admins are sent to the
    setup steps.

    Opening is for good (nothing closes a portal again), so once this app has seen its school
    open, the gate lets every request by on the event loop: no thread, no database. Before
    that, it reads the profile in a thread, as a route would."""
    path = request.scope["path"]  # not `request.url`, which builds the whole address each time
    if path in ALWAYS_OPEN or path.startswith(ALWAYS_OPEN_PREFIXES):
        return
    if getattr(request.app.state, "portal_open", False):
        return
    await anyio.to_thread.run_sync(_check_open, request, session)


def _check_open(request: Request, session: Session) -> None:
    path = request.url.path
    if current_school(request, session).is_set_up:
        request.app.state.portal_open = True
        return
    if path != "/staff" and not path.startswith("/staff/"):
        raise NotOpenYet(staff=False)
    if path in STAFF_ALWAYS_OPEN:
        return
    user = optional_user(request, session)
    if user is None:
        return  # the page's own sign-in check sends them to sign in first
    if not user.has_role(Role.admin):
        raise NotOpenYet(staff=True)
    if not path.startswith(SETUP_PREFIXES):
        raise SetUpFirst()


def add_first_run_pages(app: FastAPI) -> None:
    @app.exception_handler(NotOpenYet)
    async def not_open_yet(request: Request, exc: NotOpenYet) -> Response:
        template = "school/not-set-up-staff.html" if exc.staff else "school/not-open-yet.html"
        response = render(request, template, status_code=503)
        response.headers["Retry-After"] = "3600"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(SetUpFirst)
    async def set_up_first(request: Request, _exc: SetUpFirst) -> Response:
        return RedirectResponse("/staff/setup", status_code=303)
