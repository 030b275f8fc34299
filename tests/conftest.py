"""Shared fixtures: one freshly migrated database per test run (SQLite file, or a PostgreSQL schema
when PORTAL_DATABASE_URL points at PostgreSQL), holding the demo school.

Each test runs inside one transaction on one connection, rolled back at the end: the app's sessions
(`app.state.sessions`) and the test's own (`db_session`) all join it through savepoints, so a
`commit()` anywhere is real to every later read in the test and gone after it. The savepoints nest,
so a `db_session.rollback()` after a request undoes that request too: to read afresh, `commit()`
or `expire_all()`. Tests that need real commits across connections (threads racing, a served app,
the CLI, database roles) are marked `@pytest.mark.committed`: they run on the engine as the portal
does, and every table is emptied after them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from portal.app import create_app
from portal.clock import FixedClock
from portal.config import Settings
from portal.history import history_purge_permitted
from portal.models import metadata
from portal.school.demo import create_demo_school
from portal.school.services import School
from portal.school.stamp import KEPT
from tests.clocks import TERM_DATES, fixed_test_clock
from tests.databases import migrated_database
from tests.factories import Cast, make_cast
from tests.factories.school import school_now
from tests.pages import csrf_of, page, post_form, text_of  # noqa: F401 (tests import them from here)
from tests.route_reuse import install as share_route_analysis

share_route_analysis()  # every test's app shares FastAPI's reading of each endpoint

TEST_SECRET = "test-secret-key-" + "x" * 40


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """Argon2 with tiny costs in tests only: same code path, a fraction of the time."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from portal.accounts import services

    original = services.password_hash
    services.password_hash = PasswordHash(
        (Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),)
    )
    services._UNKNOWN_USER_HASH = services.password_hash.hash("unknown-user")
    yield
    services.password_hash = original


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_database("portal_test", tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
def clock() -> FixedClock:
    """The app's clock: 25 November 2026 until a test moves it."""
    return fixed_test_clock()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        attachments_dir=tmp_path / "attachments",
        secret_key=TEST_SECRET,
        smtp_host="",
        rate_limit_storage="memory://",
        term_dates_file=TERM_DATES,
        _env_file=None,
    )


@pytest.fixture
def app(request: pytest.FixtureRequest, settings: Settings, clock: FixedClock) -> Iterator[FastAPI]:
    application = create_app(settings, clock)
    engine = application.state.engine
    # What this process kept under the school's settings stamp starts empty for every test: the
    # demo school's stamp outlives rolled-back tests, what they kept under it must not.
    KEPT.clear()
    if request.node.get_closest_marker("committed"):
        _ensure_demo_school(application)
        yield application
        _empty_tables(application)
        _DEMO_SCHOOL_IN.discard(settings.database_url)
        engine.dispose()
        return
    if engine.dialect.name == "sqlite":
        _let_pysqlite_use_savepoints(engine)
    _ensure_demo_school(application)
    with engine.connect() as connection:
        outer = connection.begin()
        application.state.sessions = sessionmaker(
            connection,
            class_=Session,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )
        try:
            yield application
        finally:
            outer.rollback()
    engine.dispose()


# The databases (one per worker) where the demo school is committed: made by the first test,
# kept by every rolled-back test, made again after a committed test has emptied the tables.
_DEMO_SCHOOL_IN: set[str] = set()


def _ensure_demo_school(application: FastAPI) -> None:
    url = application.state.settings.database_url
    if url in _DEMO_SCHOOL_IN:
        return
    with Session(application.state.engine) as session:
        create_demo_school(session, TERM_DATES)
        session.commit()
    _DEMO_SCHOOL_IN.add(url)


def _let_pysqlite_use_savepoints(engine: Engine) -> None:
    """pysqlite begins and ends transactions on its own, which breaks SAVEPOINT: hand that to
    SQLAlchemy (the recipe in its SQLite dialect's "Serializable isolation / Savepoints")."""

    @event.listens_for(engine, "connect")
    def _no_pysqlite_transactions(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN")


def _empty_tables(application: FastAPI) -> None:
    """History refuses deletes: the teardown takes the same permit as the retention purge."""
    with application.state.engine.begin() as connection, history_purge_permitted(connection):
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def school(app: FastAPI) -> School:
    """The demo school's profile as the app reads it."""
    return school_now(app)


@pytest.fixture
def db_session(app: FastAPI) -> Iterator[Session]:
    """The test's own session, on the app's connection (or engine, for a committed test)."""
    with app.state.sessions() as session:
        yield session


@pytest.fixture
def cast(db_session: Session) -> Cast:
    """The school's people for cases: office, head, chair, clerk and three governors."""
    return make_cast(db_session)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(
        app, base_url="http://testserver", raise_server_exceptions=False
    ) as test_client:
        yield test_client


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `long` (tens of seconds each) go first: under xdist a long test that starts
    near the end keeps one worker busy while the others have finished. (The browser tests'
    hook, which runs after this one, still puts the screenshots before everything.)"""
    items.sort(key=lambda item: 0 if item.get_closest_marker("long") else 1)


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    """Let each test's app go once the test is over.

    FastAPI keeps, in module-level caches of 4,096 entries (`fastapi.dependencies.models`),
    each endpoint and dependency it has asked "is this a generator?". The portal makes one app,
    so that is nothing; the suite makes one per test, and `create_app`'s own endpoints are new
    functions each time that hold their app. Without this a worker kept about 800 apps (over a
    gigabyte, millions of objects), so every garbage collection and the final one took longer."""
    from fastapi.dependencies import models

    for value in vars(models).values():
        cache_clear = getattr(value, "cache_clear", None)
        if callable(cache_clear):
            cache_clear()


_EXIT_STATUS = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _EXIT_STATUS
    _EXIT_STATUS = int(exitstatus)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Under `faketime` (CI's run on another date) a library's timer thread can spin at
    interpreter shutdown after every test has passed; PORTAL_EXIT_AT_ONCE=1 ends the process with
    pytest's own status once its report is printed, instead of waiting on such threads."""
    import os
    import sys

    if os.environ.get("PORTAL_EXIT_AT_ONCE") == "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS)
