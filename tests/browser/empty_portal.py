"""A second live portal with an empty database (no school profile, one admin account), for the
first-run pages: the main live server holds the demo school, already set up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext
from sqlmodel import Session

from portal.accounts.models import Role
from portal.accounts.services import create_user
from portal.config import Settings
from tests.browser.conftest import CHROMIUM_ARGS, LiveServer
from tests.browser.own_portal import desktop_context, own_live_server

EMPTY_ADMIN = "first.admin@oakfield.example"
EMPTY_PASSWORD = "oakfield-first-run-2026"

__all__ = ["CHROMIUM_ARGS", "EMPTY_ADMIN", "EMPTY_PASSWORD", "empty_context", "empty_live_server"]


def _first_admin(session: Session, settings: Settings) -> None:
    create_user(
        session, email=EMPTY_ADMIN, name="Olu Adeyemi", password=EMPTY_PASSWORD, roles=[Role.admin]
    )
    session.commit()


@pytest.fixture(scope="session")
def empty_live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with own_live_server("portal_empty", tmp_path_factory, _first_admin) as server:
        yield server


@pytest.fixture
def empty_context(browser: Browser, empty_live_server: LiveServer) -> Iterator[BrowserContext]:
    with desktop_context(browser, empty_live_server) as context:
        yield context
