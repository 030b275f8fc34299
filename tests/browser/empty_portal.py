"""A second live portal with an empty database (no school profile, one admin account), for the
first-run pages: the main live server holds the demo school, already set up."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext
from sqlmodel import Session

from portal.accounts.models import Role
from portal.accounts.services import create_user
from portal.app import create_app
from portal.config import Settings
from portal.db import make_engine
from tests.browser.conftest import (
    CHROMIUM_ARGS,
    DESKTOP,
    LIVE_SECRET,
    LiveServer,
    _wait_until_healthy,
)
from tests.clocks import TERM_DATES, fixed_test_clock
from tests.databases import migrated_database

EMPTY_ADMIN = "first.admin@oakfield.example"
EMPTY_PASSWORD = "oakfield-first-run-2026"

__all__ = ["CHROMIUM_ARGS", "EMPTY_ADMIN", "EMPTY_PASSWORD", "empty_context", "empty_live_server"]


@pytest.fixture(scope="session")
def empty_live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with migrated_database("portal_empty", tmp_path_factory.mktemp("empty-db")) as url:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        settings = Settings(
            environment="test",
            database_url=url,
            secret_key=LIVE_SECRET,
            base_url=base_url,
            smtp_host="",
            rate_limit_storage="memory://",
            attachments_dir=tmp_path_factory.mktemp("empty-attachments"),
            term_dates_file=TERM_DATES,
            _env_file=None,
        )
        clock = fixed_test_clock()
        engine = make_engine(url, clock)
        with Session(engine) as session:
            create_user(
                session,
                email=EMPTY_ADMIN,
                name="Olu Adeyemi",
                password=EMPTY_PASSWORD,
                roles=[Role.admin],
            )
            session.commit()
        engine.dispose()
        app = create_app(settings, clock)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", log_level="warning", access_log=False)
        )
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [listener]}, name="empty-portal", daemon=True
        )
        thread.start()
        try:
            _wait_until_healthy(base_url, thread, timeout=20.0)
            yield LiveServer(url=base_url, settings=settings)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            listener.close()
            app.state.engine.dispose()


@pytest.fixture
def empty_context(browser: Browser, empty_live_server: LiveServer) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=empty_live_server.url, viewport=DESKTOP, locale="en-GB")
    context.set_default_timeout(5_000)
    try:
        yield context
    finally:
        context.close()
