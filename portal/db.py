"""Database engine, sessions and the shared column helpers."""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request
from sqlalchemy import bindparam, event, inspect, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import make_transient_to_detached, sessionmaker
from sqlmodel import Session, create_engine

from portal.clock import Clock, bind_clock, clock_of
from portal.config import MOST_REQUESTS_AT_ONCE
from portal.sqlite_writers import QueuedWriters

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


# Each app process keeps up to POOL_SIZE + MAX_OVERFLOW database connections, and lets at most
# `requests_at_once` (the most is MOST_REQUESTS_AT_ONCE) requests in at once (`AdmittedRequests`):
# a request holds at most two connections (its own session, and a short one for the school's
# profile on an error page), so none ever waits for a connection, however many arrive.
POOL_SIZE = 10
MAX_OVERFLOW = 2 * MOST_REQUESTS_AT_ONCE - POOL_SIZE


def make_engine(url: str, clock: Clock | None = None) -> Engine:
    if url.startswith("sqlite"):
        # A file's connections are pooled as PostgreSQL's are; an in-memory database keeps
        # SQLAlchemy's one connection per thread (each new connection would be a new database).
        in_memory = make_url(url).database in (None, "", ":memory:")
        pooled = {} if in_memory else {"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW}
        # Writers to a file queue for their turn rather than poll for the lock (sqlite_writers).
        queued = {} if in_memory else {"factory": QueuedWriters}
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30, **queued}, **pooled
        )
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW
        )
    if clock is not None:
        bind_clock(engine, clock)
    return engine


class AdmittedRequests:
    """ASGI middleware: at most `limit` requests inside the app at once; the rest wait their turn
    in the event loop, holding no thread and no connection. Without it a burst (a class of parents
    at 8:45) fills the thread pool (40 threads) with requests that each take a connection, the pool
    runs dry, and the ones that wait 30 s for a connection fail with a 500. Static files and the
    plain health check never wait: they use no connection, and a load balancer must hear from a
    busy portal that it is alive."""

    NEVER_WAIT = ("/static/", "/healthz")

    def __init__(self, app: Any, limit: int = MOST_REQUESTS_AT_ONCE) -> None:
        self.app = app
        self.limit = limit
        # One semaphore per event loop: a test client runs a loop of its own each time.
        self._semaphores: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path or (path.startswith(self.NEVER_WAIT) and "deep=" not in _query(scope)):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores.setdefault(loop, asyncio.Semaphore(self.limit))
        async with semaphore:
            await self.app(scope, receive, send)


def _query(scope: Any) -> str:
    return scope.get("query_string", b"").decode("latin-1")


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


_RowT = TypeVar("_RowT")


@dataclass(frozen=True)
class _TablePlan:
    """How `insert_now` saves and `get_now` reads one table's rows, worked out once per model."""

    insert: Any
    by_key: Any  # the SELECT of one row by its primary key (bound as "key")
    columns: tuple[str, ...]  # attribute names, in the table's order (attribute = column name)
    stamped: frozenset[str]
    defaulted: frozenset[str]  # a missing value is filled by the database or by SQLAlchemy
    primary_key: str
    version: str | None  # the column counting versions, which starts where the ORM starts it
    first_version: Any
    manager: Any  # SQLAlchemy's class manager, which makes an instance as a load does


@functools.cache
def _table_plan(model: type) -> _TablePlan:
    mapper = inspect(model)
    (key,) = mapper.primary_key
    table = mapper.local_table
    if any(mapper.get_property_by_column(column).key != column.key for column in table.columns):
        raise TypeError(f"{model.__name__} names an attribute unlike its column")
    columns = tuple(column.key for column in table.columns)
    version = mapper.version_id_col.key if mapper.version_id_col is not None else None
    return _TablePlan(
        insert=table.insert(),
        by_key=select(*table.columns).where(key == bindparam("key")),
        columns=columns,
        stamped=STAMPED_ON_INSERT.intersection(columns),
        defaulted=frozenset(
            column.key
            for column in table.columns
            if column.server_default is not None or column.default is not None
        ),
        primary_key=key.key,
        version=version,
        first_version=(
            mapper.version_id_generator(None) if callable(mapper.version_id_generator) else None
        ),
        manager=mapper.class_manager,
    )


def insert_now(session: Session, row: _RowT) -> _RowT:
    """Save a new row with one INSERT on the session's connection, now, and keep it in the
    session as a saved row (its id set, its values loaded), without a flush.

    For the rows a busy path adds one at a time (a new case, its messages, the outbox): the unit
    of work that a flush runs cost several times the INSERT itself (docs/performance.md, "The
    rush a sixth time"). As a flush would, it stamps a missing creation time from the session's
    clock and starts a version counter at the ORM's first value; a value left empty that the
    database fills is read back when first used. Later changes to the row are flushed as usual.
    Should the transaction roll back, the row is expired like any saved row (reading it then
    fails), not made new again as a flushed one is: callers that roll back do not use it again.
    Not for the school's settings tables (the settings stamp notices flushes and ORM statements,
    not this)."""
    plan = _table_plan(type(row))
    if plan.version is not None and plan.first_version is None:
        raise TypeError(
            f"{type(row).__name__}: the database counts its versions: save it with a flush"
        )
    values = row.__dict__
    now = None
    for name in plan.stamped:
        if values.get(name) is None:
            now = now or clock_of(session).now()
            values[name] = now
    if plan.version is not None:
        values[plan.version] = plan.first_version
    parameters = {name: values[name] for name in plan.columns if values.get(name) is not None}
    result = session.connection().execute(plan.insert, parameters)
    values[plan.primary_key] = result.inserted_primary_key[0]
    for name in plan.defaulted.difference(parameters):
        values.pop(name, None)  # read back from the row when first used
    make_transient_to_detached(row)
    session.add(row)
    return row


def get_now(session: Session, model: type[_RowT], key: Any) -> _RowT | None:
    """`session.get(model, key)` for the rows a busy path reads by key (a parent's draft, once
    on every page of the form): one SELECT, built once, on the session's connection, and the row
    joins the session as a loaded one, as `insert_now` does for a new row. Changes to it are
    flushed as usual. A row the session already holds is the one returned."""
    held = session.identity_map.get(session.identity_key(model, key))  # type: ignore[arg-type]
    if held is not None:
        return held  # type: ignore[return-value]
    plan = _table_plan(model)
    found = session.connection().execute(plan.by_key, {"key": key}).first()
    if found is None:
        return None
    row = plan.manager.new_instance()
    row.__dict__.update(zip(plan.columns, found, strict=True))
    make_transient_to_detached(row)
    session.add(row)
    return row  # type: ignore[no-any-return]


def now_of(session: Session):  # type: ignore[no-untyped-def]
    """This moment (naive UTC) by the clock of the app that opened `session`."""
    return clock_of(session).now()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's database session. Opening one touches no database (a connection is taken at
    the first statement), so it is made on the event loop rather than handed to a thread; closing
    one that used a connection (a rollback, then back to the pool) waits in a thread."""
    session = request.app.state.sessions()
    try:
        request.state.db_session = session  # the page renderer reads the school through it
        yield session
    finally:
        request.state.db_session = None  # closed from here on: a late page opens its own
        if session.in_transaction():
            await anyio.to_thread.run_sync(_close, session)
        else:
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
