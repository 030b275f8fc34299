"""Sessions, CSRF protection, role checks and the security headers on every response.

CSRF uses a signed double-submit token: a random value in an HttpOnly cookie, and in every form an
HMAC of that value under the secret key. A cross-site page can neither read the cookie nor forge
the HMAC. The check runs as an application-wide dependency, so no POST route can forget it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.accounts.models import Role, StaffUser
from portal.accounts.services import user_for_token
from portal.db import SessionDep

SESSION_COOKIE = "portal_session"
CSRF_COOKIE = "portal_csrf"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class CsrfError(Exception):
    """The form's token is missing or does not match this browser."""


class NotSignedIn(Exception):
    """A staff page was asked for without a valid session."""


class Forbidden(Exception):
    """Signed in, but this role may not see or do this."""


def _sign(request: Request, value: str) -> str:
    key = request.app.state.settings.secret_key.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token for forms on this page, creating the browser's CSRF cookie value if needed."""
    value = getattr(request.state, "csrf_cookie", None) or request.cookies.get(CSRF_COOKIE)
    if not value:
        value = secrets.token_urlsafe(32)
    request.state.csrf_cookie = value
    return _sign(request, value)


def rotate_csrf(request: Request) -> None:
    """A new CSRF value at sign-in and sign-out, so a token seen before cannot be replayed."""
    request.state.csrf_cookie = secrets.token_urlsafe(32)
    request.state.csrf_rotated = True


async def verify_csrf(request: Request) -> None:
    if request.method not in UNSAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    submitted = request.headers.get("x-csrf-token", "")
    if not submitted:
        form = await request.form()
        value = form.get(CSRF_FIELD, "")
        submitted = value if isinstance(value, str) else ""
    if not cookie or not submitted or not hmac.compare_digest(_sign(request, cookie), submitted):
        raise CsrfError()


def set_browser_cookies(request: Request, response: Response) -> None:
    """Write the CSRF cookie when this response created or rotated it."""
    value = getattr(request.state, "csrf_cookie", None)
    if value and (
        value != request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_rotated", False)
    ):
        response.set_cookie(
            CSRF_COOKIE,
            value,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.uses_https,
            path="/",
        )


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.uses_https,
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


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


def client_address(request: Request) -> str:
    """The visitor's address; behind a proxy uvicorn's --proxy-headers puts the real one here."""
    return request.client.host if request.client else "unknown"


class SecurityHeaders:
    """Pure ASGI middleware: adds the security headers to every response, errors included."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                headers["X-Frame-Options"] = "DENY"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                if self.hsts:
                    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
                if "cache-control" not in headers:
                    static = scope["path"].startswith("/static/")
                    headers["Cache-Control"] = "public, max-age=86400" if static else "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
