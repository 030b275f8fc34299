"""Session and CSRF cookies, CSRF protection, the visitor's address and the security headers.

Who is signed in and what their roles let them open live with the staff accounts
(`portal.accounts.access`): this module knows no domain.

CSRF uses a signed double-submit token: a random value in an HttpOnly cookie, and in every form an
HMAC under the secret key of that value *and* of the staff session the browser holds (the SHA-256
of its session cookie, empty before sign-in). A cross-site page can neither read the cookies nor
forge the HMAC, and a token is good only for the session it was made for: one from before sign-in,
or from another person's browser (even with its CSRF cookie planted alongside), is refused. The
check runs as an application-wide dependency, so no POST route can forget it.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.config import Settings
from portal.signing import Signer, same_secret, token_digest

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


def signer(request: Request) -> Signer:
    """The signer for this deployment's secret key."""
    return Signer(request.app.state.settings.secret_key)


def cookie_options(
    settings: Settings, *, path: str = "/", max_age: int | None = None
) -> dict[str, Any]:
    """The options every cookie of ours is set with: HttpOnly, SameSite=Lax, Secure over https,
    and its path. A cookie is deleted with the same options (less max_age) that set it."""
    options: dict[str, Any] = {
        "httponly": True,
        "samesite": "lax",
        "secure": settings.uses_https,
        "path": path,
    }
    if max_age is not None:
        options["max_age"] = max_age
    return options


def _session_binding(request: Request) -> str:
    """The SHA-256 of the staff session this browser holds (or is being given), else ""."""
    token = getattr(request.state, "session_token", None)
    if token is None:
        token = request.cookies.get(SESSION_COOKIE, "")
    return token_digest(token) if token else ""


def _sign(request: Request, value: str) -> str:
    return signer(request).signature("csrf", value, bound_to=_session_binding(request))


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
        # Kept for the "try again" page, should the database go away during this request.
        request.state.submitted_form = form
        value = form.get(CSRF_FIELD, "")
        submitted = value if isinstance(value, str) else ""
    if not cookie or not submitted or not same_secret(_sign(request, cookie), submitted):
        raise CsrfError()


def set_browser_cookies(request: Request, response: Response) -> None:
    """Write the CSRF cookie when this response created or rotated it."""
    value = getattr(request.state, "csrf_cookie", None)
    if value and (
        value != request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_rotated", False)
    ):
        response.set_cookie(CSRF_COOKIE, value, **cookie_options(request.app.state.settings))


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Also binds the CSRF token of any page rendered for this response to the new session."""
    request.state.session_token = token
    response.set_cookie(SESSION_COOKIE, token, **cookie_options(request.app.state.settings))


def clear_session_cookie(request: Request, response: Response) -> None:
    request.state.session_token = ""
    response.delete_cookie(SESSION_COOKIE, **cookie_options(request.app.state.settings))


def client_address(request: Request) -> str:
    """The visitor's address, for limits and history.

    `TrustedProxyHeaders` has already replaced the connecting address with the one a trusted
    proxy reported, and only then; otherwise this is the address that connected.
    """
    return request.client.host if request.client else "unknown"


# ---------------------------------------------------------------- the visitor behind a proxy


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address from a connection or a forwarding header ("[::1]:80" and "1.2.3.4:80" too)."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def forwarded_client(peer: str, forwarded_for: Iterable[str], trusted: Iterable[str]) -> str:
    """Who the visitor is, given the connecting `peer` and its X-Forwarded-For headers.

    The header is believed only when `peer` is a trusted proxy. Then the hops are read from the
    right (each proxy appends the address that connected to it), passing over trusted proxies;
    the first address that is not one is the visitor. Anything a visitor wrote further left is
    never reached, so a made-up header moves nothing.
    """
    networks = _networks(tuple(trusted))

    def is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address.version == net.version and address in net for net in networks)

    current = _parse_address(peer)
    if current is None or not networks or not is_trusted(current):
        return str(current) if current is not None else peer
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _parse_address(hop)
        if address is None:
            break  # not an address: keep the last trusted proxy rather than guess
        current = address
        if not is_trusted(address):
            break
    return str(current)


class TrustedProxyHeaders:
    """Pure ASGI middleware: the visitor's real address, believed only from trusted proxies.

    Replaces `scope["client"]` (so `request.client`, the limits, the history and the access log
    all see the same address) when the connection comes from an address or network in
    `settings.trusted_proxies`. With none configured, X-Forwarded-For is ignored.
    """

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        trusted = self.settings.trusted_proxies
        client = scope.get("client")
        if scope["type"] in ("http", "websocket") and trusted and client:
            forwarded = [
                value.decode("latin-1")
                for name, value in scope.get("headers", [])
                if name == b"x-forwarded-for"
            ]
            real = forwarded_client(client[0], forwarded, trusted)
            if real != client[0]:
                scope["client"] = (real, 0)
        await self.app(scope, receive, send)


# ---------------------------------------------------------------- private links out of the logs

# /track/<token> and everything under it, but not the cookie-based /track/case pages; and a
# parent's one-time sign-in link, /photos/sign-in/<token>.
_TRACK_TOKEN = re.compile(r"(/track/(?!case(?:[/?#\s\"]|$))|/photos/sign-in/)[^/?#\s\"]+")
MASKED_TOKEN = "[private-link]"  # noqa: S105 - a placeholder, not a secret


def mask_private_links(text: str) -> str:
    """A log line with every parent's private tracking token or sign-in link replaced by a
    placeholder."""
    return _TRACK_TOKEN.sub(r"\g<1>" + MASKED_TOKEN, text)


class PrivateLinkFilter(logging.Filter):
    """Keeps private tracking links out of logs: the access log prints every request's path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and ("/track/" in record.msg or "/sign-in/" in record.msg):
            record.msg = mask_private_links(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_private_links(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif isinstance(record.args, dict):
            record.args = {
                key: mask_private_links(arg) if isinstance(arg, str) else arg
                for key, arg in record.args.items()
            }
        return True


LOGS_WITH_PATHS = ("uvicorn.access", "uvicorn.error", "portal")


def install_private_link_filter(names: Iterable[str] = LOGS_WITH_PATHS) -> None:
    """Add the filter to the loggers that print request paths (once each)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, PrivateLinkFilter) for f in logger.filters):
            logger.addFilter(PrivateLinkFilter())


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
