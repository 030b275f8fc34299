"""Real-browser harness: one live portal server with the demo school and one headless Chromium per
test session, a fresh browser context per test, and axe-core for accessibility checks.

The live server has its own database (a SQLite file, or its own PostgreSQL schema when
PORTAL_DATABASE_URL points at PostgreSQL), so the per-test table emptying in tests/conftest.py never
touches it. Every test here is marked `browser`; without Chromium they are skipped, or fail when
PORTAL_REQUIRE_BROWSER=1 (as in CI).
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright
from sqlmodel import Session

from portal.accounts.models import Role
from portal.app import create_app
from portal.config import Settings
from portal.db import make_engine
from portal.demo import DEMO_PASSWORD, DEMO_STAFF, load_demo
from tests.clocks import TERM_DATES, fixed_test_clock
from tests.databases import migrated_database

BROWSER_TESTS = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("PORTAL_REQUIRE_BROWSER") == "1"
LIVE_SECRET = "browser-test-secret-key-" + "y" * 40
SCHOOL_NAME = "Brookfield Primary School"
TITLE_SUFFIX = f" – {SCHOOL_NAME}"
ADMIN_EMAIL = next(email for _name, email, roles in DEMO_STAFF if Role.admin in roles)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_22_AA}, "resultTypes": ["violations"]}
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 375, "height": 812}


def _chromium_present() -> bool:
    return Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    present = _chromium_present()
    skip = pytest.mark.skip(
        reason=f"no Chromium at {CHROMIUM}: to run the browser tests, install Debian's chromium "
        "(apt-get install -y chromium) or set PORTAL_CHROMIUM to a Chromium executable"
    )
    for item in items:
        if BROWSER_TESTS not in Path(item.path).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        if not present and not REQUIRE_BROWSER:
            item.add_marker(skip)
    # Screenshots first, so they show the demo school before other tests add to it.
    screenshots = BROWSER_TESTS / "test_screenshots.py"
    items.sort(key=lambda item: 0 if Path(item.path).resolve() == screenshots else 1)


# --- the live server --------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    settings: Settings


@pytest.fixture(scope="session")
def live_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of the live server's own, migrated and holding the demo school."""
    with migrated_database("portal_browser", tmp_path_factory.mktemp("browser-db")) as url:
        yield url


@contextmanager
def live_portal(
    database_url: str,
    attachments_dir: Path,
    fill: Callable[[Session, Settings], object],
    *,
    name: str,
    timeout: float = 20.0,
    **settings_given: Any,
) -> Iterator[LiveServer]:
    """A portal served on 127.0.0.1 from a migrated database, filled first by `fill` (which
    commits), until the block ends. `settings_given` adds to the test settings."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings = Settings(
        environment="test",
        database_url=database_url,
        secret_key=LIVE_SECRET,
        base_url=base_url,
        smtp_host="",
        rate_limit_storage="memory://",
        attachments_dir=attachments_dir,
        term_dates_file=TERM_DATES,
        _env_file=None,
        **settings_given,
    )
    clock = fixed_test_clock()
    engine = make_engine(database_url, clock)
    with Session(engine, expire_on_commit=False) as session:
        fill(session, settings)
    engine.dispose()

    app = create_app(settings, clock)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", log_level="warning", access_log=False)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name=name, daemon=True
    )
    thread.start()
    try:
        _wait_until_healthy(base_url, thread, timeout=timeout)
        yield LiveServer(url=base_url, settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
        app.state.engine.dispose()


@pytest.fixture(scope="session")
def live_server(
    live_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with live_portal(
        live_database_url,
        tmp_path_factory.mktemp("attachments"),
        load_demo,
        name="live-portal",
        templates_override_dir=None,
        submissions_per_hour_per_address=1000,
        # Every browser test signs in from 127.0.0.1: the limits are tried in tests/accounts.
        sign_in_attempts_per_address=10_000,
        sign_in_attempts_per_account=10_000,
    ) as server:
        yield server


def _wait_until_healthy(base_url: str, thread: threading.Thread, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: object = None
    while time.monotonic() < deadline:
        if not thread.is_alive():
            pytest.fail("the live portal server stopped while starting up (see the log above)")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as error:
            last_error = error
        time.sleep(0.05)
    pytest.fail(
        f"the live portal server did not answer /healthz within {timeout:.0f} s: {last_error}"
    )


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not _chromium_present():
        pytest.fail(
            f"PORTAL_REQUIRE_BROWSER=1 but there is no Chromium at {CHROMIUM}. "
            "Install it with `apt-get install -y chromium`, or set PORTAL_CHROMIUM to its path."
        )
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@dataclass
class _Watch:
    """What one browser context asked for and any script errors or CSP refusals it saw."""

    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


PageMaker = Callable[..., Page]
_NO_JS_PAGES: weakref.WeakSet[Page] = weakref.WeakSet()


@pytest.fixture
def new_page(browser: Browser, live_server: LiveServer) -> Iterator[PageMaker]:
    """Make a page in a fresh context: `new_page(js=False, viewport=MOBILE)`.

    At teardown, fails the test if the browser asked any host but the live server for anything,
    or if a script threw or the Content-Security-Policy refused something.
    """
    opened: list[tuple[BrowserContext, _Watch]] = []

    def make(
        *, js: bool = True, viewport: dict[str, int] | None = None, storage_state: Any = None
    ) -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            java_script_enabled=js,
            viewport=viewport or DESKTOP,
            locale="en-GB",
            storage_state=storage_state,
        )
        context.set_default_timeout(5_000)
        watch = _Watch()
        context.on("request", lambda request: watch.requests.append(request.url))
        page = context.new_page()
        if not js:
            _NO_JS_PAGES.add(page)
        page.on("pageerror", lambda error: watch.problems.append(f"script error: {error}"))
        page.on(
            "console",
            lambda message: (
                watch.problems.append(f"console: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        opened.append((context, watch))
        return page

    yield make

    for context, _watch in opened:
        context.close()
    allowed = (live_server.url + "/", "data:")
    elsewhere = [
        url for _context, watch in opened for url in watch.requests if not url.startswith(allowed)
    ]
    problems = [problem for _context, watch in opened for problem in watch.problems]
    assert not elsewhere, "the browser asked hosts other than the portal for:\n" + "\n".join(
        elsewhere
    )
    assert not problems, "the page had script or CSP problems:\n" + "\n".join(problems)


@dataclass
class _KeptPage:
    """A context and page kept for the session, for tests that only open pages and read them."""

    context: BrowserContext
    page: Page
    watch: _Watch


_kept_pages: dict[tuple[bool, int, int], _KeptPage] = {}


@pytest.fixture
def reused_page(browser: Browser, live_server: LiveServer) -> Iterator[PageMaker]:
    """Like `new_page`, with the same arguments and the same checks at teardown, but the context
    and page are kept for the session and given to the next test that asks for the same kind
    (JavaScript on or off, viewport): a new context costs Chromium a renderer
    process, a good part of a short test's time. Each test starts as in a fresh context: the
    page on about:blank, and only the cookies of `storage_state` (none without one).

    For tests that only open pages, follow links and read what they show: a test that changes
    the context (routes, viewport, permissions, scripts) takes `new_page` instead."""
    used: list[_KeptPage] = []

    def make(
        *, js: bool = True, viewport: dict[str, int] | None = None, storage_state: Any = None
    ) -> Page:
        size = viewport or DESKTOP
        key = (js, size["width"], size["height"])  # the cookies are set for each test
        kept = _kept_pages.get(key)
        if kept is None or kept.page.is_closed():
            context = browser.new_context(
                base_url=live_server.url,
                java_script_enabled=js,
                viewport=size,
                locale="en-GB",
            )
            context.set_default_timeout(5_000)
            page = context.new_page()
            kept = _KeptPage(context=context, page=page, watch=_Watch())
            # The handlers read `kept.watch`, which each test replaces with its own.
            context.on("request", lambda request: kept.watch.requests.append(request.url))
            page.on("pageerror", lambda error: kept.watch.problems.append(f"script error: {error}"))
            page.on(
                "console",
                lambda message: (
                    kept.watch.problems.append(f"console: {message.text}")
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            if not js:
                _NO_JS_PAGES.add(page)
            _kept_pages[key] = kept
        assert kept not in used, "one kept page of a kind per test: use new_page for a second"
        assert not (storage_state or {}).get("origins"), "kept pages take cookies only"
        kept.page.goto("about:blank")
        kept.context.clear_cookies()
        if storage_state:
            kept.context.add_cookies(storage_state["cookies"])
        kept.watch = _Watch()
        used.append(kept)
        return kept.page

    yield make

    for kept in used:
        if not kept.page.is_closed():
            kept.page.goto("about:blank")  # nothing of this test's page reaches the next test
    allowed = (live_server.url + "/", "data:", "about:blank")
    elsewhere = [url for kept in used for url in kept.watch.requests if not url.startswith(allowed)]
    problems = [problem for kept in used for problem in kept.watch.problems]
    assert not elsewhere, "the browser asked hosts other than the portal for:\n" + "\n".join(
        elsewhere
    )
    assert not problems, "the page had script or CSP problems:\n" + "\n".join(problems)


@pytest.fixture
def page(new_page: PageMaker) -> Page:
    return new_page(js=True)


@pytest.fixture
def page_no_js(new_page: PageMaker) -> Page:
    return new_page(js=False)


@pytest.fixture(scope="session")
def admin_storage_state(browser: Browser, live_server: LiveServer) -> Any:
    """The demo admin's cookies, from one real sign-in, so staff-page tests need not sign in."""
    context = browser.new_context(base_url=live_server.url)
    try:
        sign_in(context.new_page(), ADMIN_EMAIL)
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def admin_page(new_page: PageMaker, admin_storage_state: Any) -> Page:
    """A page (JavaScript on, 1280 wide) already signed in as the demo portal administrator."""
    return new_page(js=True, storage_state=admin_storage_state)


# --- helpers for tests ------------------------------------------------------------------------


def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the staff sign-in form, the way a person does, and land on a staff page."""
    page.goto("/staff/login")
    page.get_by_label("Email address").fill(email)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/staff**")
    assert "/staff/login" not in page.url, f"sign-in as {email} failed: still on {page.url}"


_axe = Axe()


def assert_accessible(page: Page) -> None:
    """Run axe-core with the WCAG 2.2 AA rules and fail with a readable list of any violations.

    axe-core waits on timers, which never fire in a context with JavaScript switched off, so for
    such a page axe runs on an exact copy of its document (as served, since no script ran) in a
    context where scripts may run but every script the page asks for is refused.
    """
    if page in _NO_JS_PAGES:
        _assert_accessible_copy(page)
        return
    _check_with_axe(page, page.url)


@dataclass
class _AxeMirror:
    """One JavaScript-enabled page, kept for the session, that shows copies of no-JS pages."""

    page: Page
    url: str = ""
    html: str = ""


_mirrors: dict[int, _AxeMirror] = {}


def _mirror_for(browser: Browser) -> _AxeMirror:
    mirror = _mirrors.get(id(browser))
    if mirror is None or mirror.page.is_closed():
        context = browser.new_context(java_script_enabled=True, viewport=DESKTOP)
        context.set_default_timeout(5_000)
        mirror = _AxeMirror(page=context.new_page())
        context.route("**/*", functools.partial(_serve_copy, mirror))
        _mirrors[id(browser)] = mirror
    return mirror


def _serve_copy(mirror: _AxeMirror, route: Route) -> None:
    request = route.request
    if request.resource_type == "script":
        route.abort()
    elif request.resource_type == "document" and request.url == mirror.url:
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=mirror.html)
    else:
        route.continue_()


def _assert_accessible_copy(page: Page) -> None:
    browser = page.context.browser
    assert browser is not None
    mirror = _mirror_for(browser)
    mirror.url, mirror.html = page.url.split("#", 1)[0], page.content()
    if page.viewport_size:
        mirror.page.set_viewport_size(page.viewport_size)
    mirror.page.goto(mirror.url)
    _check_with_axe(mirror.page, f"{mirror.url} (without JavaScript)")


def _check_with_axe(page: Page, where: str) -> None:
    results = _axe.run(page, options=AXE_OPTIONS)
    if results.violations_count == 0:
        return
    lines = [f"{results.violations_count} accessibility violation(s) on {where}:"]
    for violation in results.response["violations"]:
        lines.append(
            f"- {violation['id']} ({violation.get('impact')}): {violation['help']}"
            f"\n  {violation.get('helpUrl', '')}"
        )
        for node in violation["nodes"]:
            lines.append(f"    target: {node['target']}")
            lines.append(f"    html:   {node['html'][:300]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"    why:    {summary[:300]}")
    pytest.fail("\n".join(lines), pytrace=False)
