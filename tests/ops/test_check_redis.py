"""Redis as the shared rate-limit store, started on a spare port by the test and killed: `portal
check` says so with the fix, and sign-in and submissions carry on with the limits counted in the
process (a logged warning, never a 500) while `/healthz` reports the degraded state."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis

from portal.accounts.models import Role
from portal.checks import check_redis
from portal.config import Settings
from portal.throttle import ResilientLimiter
from tests.complaints.test_form import fill_in
from tests.conftest import csrf_of
from tests.factories import PASSWORD, make_user, send

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


def _spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own, nothing kept on disk."""

    def __init__(self) -> None:
        self.port = _spare_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Under faketime (CI's run in 2028) Redis keeps the real clock: it does not start
            # with libfaketime preloaded, and its expiry is its own business.
            env={k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME")},
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.kill()


def test_check_passes_while_redis_answers_and_fails_with_the_fix_when_it_is_gone(redis_server):
    settings = Settings(rate_limit_storage=redis_server.url, _env_file=None)
    assert check_redis(settings).ok
    redis_server.kill()
    finding = check_redis(settings)
    assert not finding.ok
    assert f"Redis at 127.0.0.1:{redis_server.port} is not answering" in finding.text
    assert "Start Redis" in finding.fix


def test_check_never_shows_the_redis_password(redis_server):
    settings = Settings(
        rate_limit_storage=f"redis://:redis-pass-123@127.0.0.1:{redis_server.port}",
        _env_file=None,
    )
    finding = check_redis(settings)
    assert not finding.ok  # this Redis has no password: it refuses the one given
    assert "redis-pass-123" not in finding.text + finding.fix


def _sign_in(app, client, db_session):
    user = make_user(db_session, Role.office)
    token = csrf_of(client.get("/staff/login"))
    return client.post(
        "/staff/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )


def test_when_redis_dies_sign_in_and_submissions_use_the_process_limits(
    app, client, db_session, clock, redis_server, caplog
):
    app.state.limiter = ResilientLimiter(redis_server.url, clock.monotonic)
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/healthz?deep=1").json()["redis"] == "ok"
    assert _sign_in(app, client, db_session).status_code == 303
    assert app.state.limiter.kind == "shared"
    assert redis.Redis.from_url(redis_server.url).keys("LIMITS:*")  # counted in Redis

    redis_server.kill()
    client.cookies.clear()
    with caplog.at_level(logging.WARNING, logger="portal.throttle"):
        signed_in = _sign_in(app, client, db_session)
        fill_in(client)
        sent = send(client)
    assert signed_in.status_code == 303
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"].startswith("/complaints/new/done")
    warnings = [r.getMessage() for r in caplog.records if r.name == "portal.throttle"]
    assert len(warnings) == 1, warnings  # once per outage, not once per request
    assert "counting in this process" in warnings[0]
    assert redis_server.url not in warnings[0]

    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "degraded", "rate_limits": "degraded"}
    deep = client.get("/healthz?deep=1").json()
    assert deep["status"] == "degraded"
    assert deep["redis"] == "unreachable"
    assert deep["database"] == "ok"

    # Redis back: the next request after a short pause counts there again.
    redis_server.start()
    clock.advance(timedelta(seconds=30))
    client.cookies.clear()
    assert _sign_in(app, client, db_session).status_code == 303
    assert app.state.limiter.kind == "shared"
    assert client.get("/healthz").json() == {"status": "ok"}


def test_limits_still_hold_in_the_process_while_redis_is_away(app, clock, redis_server):
    from portal.throttle import Limit, Throttle

    limiter = ResilientLimiter(redis_server.url, clock.monotonic)
    redis_server.kill()
    throttle = Throttle(limiter)
    limit = Limit.per_hour("example", 3)
    assert [throttle.attempt(limit, "k") for _ in range(5)] == [True, True, True, False, False]
    assert limiter.kind == "degraded"


def test_a_redis_url_without_the_redis_client_degrades_instead_of_crashing(clock, monkeypatch):
    import limits.storage as storage

    def no_client(*_args, **_kwargs):
        from limits.errors import ConfigurationError

        raise ConfigurationError("Prerequisite not available for redis://:pw@host")

    monkeypatch.setattr("portal.throttle.storage_from_string", no_client)
    assert storage  # the real module is untouched
    limiter = ResilientLimiter("redis://:pw@127.0.0.1:6379", clock.monotonic)
    assert limiter.kind == "degraded"
    assert "pip install" in (limiter.problem or "")
    assert "pw@" not in (limiter.problem or "")
    assert limiter.hit(__import__("limits").RateLimitItemPerHour(1), "k")
