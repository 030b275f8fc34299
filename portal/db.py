"""Database engine, sessions and the shared column helpers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, create_engine

from portal.clock import Clock, bind_clock, clock_of

log = logging.getLogger("portal.db")

# Columns filled with the session's clock when a new row is flushed without one.
STAMPED_ON_INSERT = frozenset(
    {
        "created_at",
        "last_seen_at",
        "marked_at",
        "next_attempt_at",
        "occurred_at",
        "published_at",
        "received_at",
        "updated_at",
        "uploaded_at",
    }
)


def make_engine(url: str, clock: Clock | None = None) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if clock is not None:
        bind_clock(engine, clock)
    return engine


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    """Where the web app's database sessions come from (`app.state.sessions`): every request and
    every page that reads the school opens its session here, never on the engine itself, so a
    test can point them all at one connection inside a transaction it rolls back."""
    return sessionmaker(engine, class_=Session, expire_on_commit=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Session, "before_flush")
def _stamp_new_rows(session: Session, _context: Any, _instances: Any) -> None:
    """Give new rows their creation time from the session's clock, never the system's."""
    if not session.new:
        return
    now = None
    for row in session.new:
        for name in STAMPED_ON_INSERT.intersection(inspect(type(row)).columns.keys()):
            if getattr(row, name, None) is None:
                now = now or clock_of(session).now()
                setattr(row, name, now)


def now_of(session: Session):  # type: ignore[no-untyped-def]
    """This moment (naive UTC) by the clock of the app that opened `session`."""
    return clock_of(session).now()


def get_session(request: Request) -> Iterator[Session]:
    session = request.app.state.sessions()
    try:
        request.state.db_session = session  # the page renderer reads the school through it
        yield session
    finally:
        _close(session)


def _close(session: Session) -> None:
    """Close after the response is sent. If the database went away meanwhile, the rollback that
    closing does fails: the server has dropped the transaction anyway, and the pool replaces the
    connection, so it is logged, not raised (raised, it would cut off a response already begun)."""
    try:
        session.close()
    except DBAPIError as error:
        log.warning("database connection lost while closing a session: %s", error.orig)


SessionDep = Annotated[Session, Depends(get_session)]


def get_clock(request: Request) -> Clock:
    return request.app.state.clock


ClockDep = Annotated[Clock, Depends(get_clock)]
