"""Live portals of a test's own, beside the browser session's shared one (`live_server`): for
journeys that change what other tests rely on, or that need a portal in another state.

- `own_live_server(prefix, tmp_path_factory, fill)`: a portal on a database of its own (migrated,
  then `fill(session, settings)`), served on 127.0.0.1 until the block ends.
- `desktop_context(browser, server)`: a browser context on it, 1280 wide, en-GB, 5 s timeouts.
- The fixtures `own_demo_server` (a portal holding the demo school, one per test) and
  `own_demo_page` (a page on it). A test module imports them and names them in `__all__`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlmodel import Session

from portal.config import Settings
from portal.demo import load_demo
from tests.browser.conftest import DESKTOP, LiveServer, live_portal
from tests.databases import migrated_database

__all__ = ["desktop_context", "own_demo_page", "own_demo_server", "own_live_server"]


@contextmanager
def own_live_server(
    prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
    fill: Callable[[Session, Settings], object],
) -> Iterator[LiveServer]:
    """A portal on a database of its own, filled by `fill` (which commits), served until the
    block ends."""
    with (
        migrated_database(prefix, tmp_path_factory.mktemp(f"{prefix}-db")) as url,
        live_portal(
            url, tmp_path_factory.mktemp(f"{prefix}-attachments"), fill, name=prefix, timeout=30.0
        ) as server,
    ):
        yield server


@contextmanager
def desktop_context(browser: Browser, server: LiveServer) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=server.url, viewport=DESKTOP, locale="en-GB")
    context.set_default_timeout(5_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def own_demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A portal of this test's own, with the demo school."""
    with own_live_server("portal_own_demo", tmp_path_factory, load_demo) as server:
        yield server


@pytest.fixture
def own_demo_page(browser: Browser, own_demo_server: LiveServer) -> Iterator[Page]:
    """A page (1280 wide) on the test's own demo portal, signed in as nobody."""
    with desktop_context(browser, own_demo_server) as context:
        yield context.new_page()
