"""Who is signed in, and what their roles let them open: the dependencies staff pages use.

Here rather than in `portal.security`, which reads the cookies but knows no domain: finding the
person behind a session needs the staff accounts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from portal.accounts.models import Role, StaffUser
from portal.accounts.services import user_for_token
from portal.db import SessionDep
from portal.security import SESSION_COOKIE, Forbidden, NotSignedIn


def optional_user(request: Request, session: SessionDep) -> StaffUser | None:
    if hasattr(request.state, "user"):
        return request.state.user
    token = request.cookies.get(SESSION_COOKIE)
    user = user_for_token(session, token, request.app.state.settings) if token else None
    request.state.user = user
    return user


def current_user(user: Annotated[StaffUser | None, Depends(optional_user)]) -> StaffUser:
    if user is None:
        raise NotSignedIn()
    return user


CurrentUser = Annotated[StaffUser, Depends(current_user)]
OptionalUser = Annotated[StaffUser | None, Depends(optional_user)]


def require_role(*roles: Role) -> Callable[..., StaffUser]:
    """A dependency that lets through only staff holding one of `roles`."""

    def check(user: CurrentUser) -> StaffUser:
        if not user.has_role(*roles):
            raise Forbidden()
        return user

    check.required_roles = roles  # type: ignore[attr-defined]
    return check
