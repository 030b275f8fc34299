"""At most so many requests inside the app at once; the rest wait their turn and are all
answered (portal.db.AdmittedRequests), while static files and the plain health check never wait."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

import pytest

from portal.app import create_app
from portal.config import MOST_REQUESTS_AT_ONCE, Settings
from portal.db import MAX_OVERFLOW, POOL_SIZE, AdmittedRequests


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    """asyncio.run in a thread of its own: the browser tests leave an event loop running in the
    test worker's thread, where asyncio.run refuses to start another."""
    failures: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as error:  # re-raised below, in the test's thread
            failures.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def _scope(path: str, query: bytes = b"") -> dict:
    return {"type": "http", "path": path, "query_string": query}


def test_requests_beyond_the_limit_wait_and_are_all_answered():
    inside = 0
    most_inside = 0
    answered: list[str] = []

    async def app(scope, _receive, _send):
        nonlocal inside, most_inside
        inside += 1
        most_inside = max(most_inside, inside)
        await asyncio.sleep(0.01)
        inside -= 1
        answered.append(scope["path"])

    admitted = AdmittedRequests(app, limit=3)

    async def burst():
        await asyncio.gather(*(admitted(_scope(f"/page/{n}"), None, None) for n in range(20)))

    run(burst())
    assert most_inside == 3
    assert sorted(answered) == sorted(f"/page/{n}" for n in range(20))


def test_static_files_and_the_plain_health_check_never_wait_but_the_deep_one_does():
    order: list[str] = []
    release = asyncio.Event

    async def main() -> None:
        gate = release()

        async def app(scope, _receive, _send):
            if scope["path"] == "/slow":
                await gate.wait()
            order.append(scope["path"] + ("?deep" if scope["query_string"] else ""))

        admitted = AdmittedRequests(app, limit=1)
        slow = asyncio.create_task(admitted(_scope("/slow"), None, None))
        await asyncio.sleep(0)
        await admitted(_scope("/static/build/portal.css"), None, None)
        await admitted(_scope("/healthz"), None, None)
        deep = asyncio.create_task(admitted(_scope("/healthz", b"deep=1"), None, None))
        await asyncio.sleep(0.01)
        assert order == ["/static/build/portal.css", "/healthz"]  # the deep one is waiting
        gate.set()
        await asyncio.gather(slow, deep)

    run(main())
    assert order == ["/static/build/portal.css", "/healthz", "/slow", "/healthz?deep"]


def test_a_request_never_needs_more_connections_than_the_pool_has():
    # Each admitted request holds at most two connections (docs in portal.db).
    assert MOST_REQUESTS_AT_ONCE * 2 <= POOL_SIZE + MAX_OVERFLOW


def test_waiting_requests_go_in_the_order_they_came():
    """First come, first served: in a rush nobody waits while later arrivals overtake them."""
    started: list[int] = []

    async def app(scope, _receive, _send):
        started.append(int(scope["path"].rsplit("/", 1)[1]))
        await asyncio.sleep(0.001)

    admitted = AdmittedRequests(app, limit=2)

    async def rush():
        arrivals = []
        for n in range(30):
            arrivals.append(asyncio.create_task(admitted(_scope(f"/page/{n}"), None, None)))
            await asyncio.sleep(0)
        await asyncio.gather(*arrivals)

    run(rush())
    assert started == list(range(30))


def test_the_number_at_once_is_a_setting_within_what_the_pool_allows(tmp_path):
    for bad in (0, -1, MOST_REQUESTS_AT_ONCE + 1):
        with pytest.raises(ValueError, match=f"between 1 and {MOST_REQUESTS_AT_ONCE}"):
            Settings(requests_at_once=bad, _env_file=None)
    settings = Settings(
        requests_at_once=3,
        database_url=f"sqlite:///{tmp_path / 'portal.db'}",
        data_dir=tmp_path,
        _env_file=None,
    )
    app = create_app(settings)
    limits = [m.kwargs.get("limit") for m in app.user_middleware if m.cls is AdmittedRequests]
    assert limits == [3]


def test_each_event_loop_has_its_own_turns():
    async def app(_scope, _receive, _send):
        await asyncio.sleep(0)

    admitted = AdmittedRequests(app, limit=1)
    for _ in range(3):  # a test client starts a new loop each time
        run(admitted(_scope("/page"), None, None))
