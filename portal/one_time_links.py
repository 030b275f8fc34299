"""One-time links emailed instead of a password, and the short signed session each one starts.

Parents on the register (`portal.consent`, table `parent_sign_in`) and commenters not on it
(`portal.moderation`, table `commenter_link`) sign in the same way; each domain keeps its own
table, its own cookie and its own lifetimes, and says what happens around a link (who it is for,
what to email, what to record once it is used). This module is the mechanism they share:

- A link is a random token; only its digest is stored (`portal.signing.token_digest`), so a copy
  of the database opens nothing. It waits to be used until its expiry.
- `use` marks it used with a conditional update, so of two uses at once exactly one wins; the
  link's row is then the session.
- The browser is given a cookie holding the row's id, signed (`portal.signing.Signer`) for the
  domain's purpose, bound to the link's token digest and good for at most the longest session.
- The row decides the rest: `live` ends the session after the idle time without a request, after
  the longest session whatever the cookie says, and at once when `end` has set `ended_at`; it
  notes the visitor as seen at most once a minute (the caller commits).

A table used here has the columns `id`, `token_hash`, `created_at`, `expires_at`, `used_at`,
`last_seen_at` and `ended_at` (see `LinkRow`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import select, update
from sqlmodel import Session

from portal.clock import unix_seconds
from portal.db import now_of
from portal.inputs import row_id_or_none
from portal.security import cookie_options, rotate_csrf, set_browser_cookies
from portal.signing import Signer, token_digest

SEEN_EVERY = timedelta(minutes=1)


class LinkRow(Protocol):
    """What a one-time link's row holds (its table has these columns, and more of its own)."""

    id: int | None
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    last_seen_at: datetime | None
    ended_at: datetime | None


Row = TypeVar("Row", bound=LinkRow)


@dataclass(frozen=True)
class Lifetimes:
    """How long a link waits to be used, how long its session may sit idle, and how long the
    session lasts at most after the link was used."""

    link: timedelta
    idle: timedelta
    longest: timedelta


@dataclass(frozen=True)
class OneTimeLinks(Generic[Row]):
    """The links kept in one table (a domain's own), and the sessions they start."""

    table: type[Row]

    # ------------------------------------------------------------ the link

    def issue(self, session: Session, lifetimes: Lifetimes, **fields: Any) -> str:
        """Add a fresh link (the domain's own columns in `fields`); its token, of which only the
        digest is stored."""
        token = secrets.token_urlsafe(32)
        now = now_of(session)
        session.add(
            self.table(
                token_hash=token_digest(token),
                created_at=now,
                expires_at=now + lifetimes.link,
                **fields,
            )
        )
        return token

    def waiting(self, session: Session, token: str) -> Row | None:
        """The link for `token` while it can still be used (not used, not expired), else None."""
        table: Any = self.table
        row = session.scalar(select(table).where(table.token_hash == token_digest(token)))
        if row is None or row.used_at is not None or row.expires_at <= now_of(session):
            return None
        return row

    def use(self, session: Session, token: str) -> Row | None:
        """Use the link once: a conditional update, so of two uses at once exactly one wins.
        Its row (then the session) as it is now, or None when the link is unknown, used or
        expired."""
        table: Any = self.table
        now = now_of(session)
        digest = token_digest(token)
        used = session.execute(
            update(table)
            .where(table.token_hash == digest, table.used_at.is_(None), table.expires_at > now)
            .values(used_at=now, last_seen_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if used != 1:
            return None
        row = session.scalar(select(table).where(table.token_hash == digest))
        assert row is not None
        session.refresh(row)
        return row

    # ------------------------------------------------------------ the session

    def live(
        self, session: Session, row_id: int, lifetimes: Lifetimes, *, now: datetime | None = None
    ) -> Row | None:
        """The session row while it lasts (used, not ended, not idle too long, not too old),
        noting the visitor as seen at most once a minute (the caller commits); else None."""
        now = now or now_of(session)
        row = session.get(self.table, row_id)
        if row is None or row.used_at is None or row.ended_at is not None:
            return None
        seen = row.last_seen_at or row.used_at
        if now - seen > lifetimes.idle or now - row.used_at > lifetimes.longest:
            return None
        if now - seen > SEEN_EVERY:
            row.last_seen_at = now
            session.add(row)
        return row

    def end(self, session: Session, row: Row) -> None:
        """The session ends now, whatever the cookie says."""
        table: Any = self.table
        session.execute(
            update(table)
            .where(table.id == row.id, table.ended_at.is_(None))
            .values(ended_at=now_of(session))
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True)
class SessionCookie(Generic[Row]):
    """The browser's side of a session: a cookie named `name` holding the row's id, signed for
    `purpose` (a value signed for one domain's sessions is refused by the other's) and bound to
    the link's token digest, so it is good only while that row is."""

    links: OneTimeLinks[Row]
    name: str
    purpose: str

    def read(self, request: Request, session: Session, lifetimes: Lifetimes) -> Row | None:
        """The session row this browser's cookie is for, if its signature holds (this purpose,
        bound to the row's token digest, not past its expiry) and the session lasts
        (`OneTimeLinks.live`); else None."""
        value = request.cookies.get(self.name, "")
        row_id = row_id_or_none(Signer.peek(value) or "") if value else None
        row = session.get(self.links.table, row_id) if row_id is not None else None
        if row is None or row.id is None:
            return None
        now = now_of(session)
        payload = Signer(request.app.state.settings.secret_key).unsign(
            self.purpose, value, now=unix_seconds(now), bound_to=row.token_hash
        )
        if payload != str(row.id):
            return None
        return self.links.live(session, row.id, lifetimes, now=now)

    def start(self, request: Request, response: Response, row: Row, lifetimes: Lifetimes) -> None:
        """Give the browser the signed cookie for a link just used (and a fresh CSRF value)."""
        settings = request.app.state.settings
        assert row.used_at is not None
        ends = row.used_at + lifetimes.longest
        value = Signer(settings.secret_key).sign(
            self.purpose, str(row.id), expires_at=unix_seconds(ends), bound_to=row.token_hash
        )
        rotate_csrf(request)
        response.set_cookie(self.name, value, **cookie_options(settings))
        set_browser_cookies(request, response)

    def clear(self, request: Request, response: Response) -> None:
        """Take the cookie back (and a fresh CSRF value): the browser is signed out."""
        rotate_csrf(request)
        response.delete_cookie(self.name, **cookie_options(request.app.state.settings))
        set_browser_cookies(request, response)
