"""Who the visitor is behind a proxy, and what the access log says about them.

X-Forwarded-For is believed only from the proxies named in `trusted_proxies` (none by default);
then the visitor is the rightmost address that is not a trusted proxy. Private tracking links
never reach the access log.
"""

from __future__ import annotations

import io
import logging
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from portal import cli
from portal.config import Settings
from portal.security import (
    MASKED_TOKEN,
    PrivateLinkFilter,
    client_address,
    forwarded_client,
    mask_private_links,
)
from tests.conftest import csrf_of

SPOOFED = "6.6.6.6"
KEY = "k" * 40
VISITOR = "198.51.100.7"


# A real server on a busy 2-CPU machine can take more than httpx's default 5 s to answer.
SERVED_TIMEOUT = 30


@pytest.fixture
def whoami(app):  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.get("/whoami")
    def who(request: Request) -> PlainTextResponse:
        return PlainTextResponse(client_address(request))

    app.include_router(router)
    return app


def _from(app, peer: str, forwarded: str | None = None) -> str:  # type: ignore[no-untyped-def]
    browser = TestClient(app, client=(peer, 40000))
    headers = {"x-forwarded-for": forwarded} if forwarded is not None else {}
    return browser.get("/whoami", headers=headers).text


# ---------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("peer", "header", "trusted", "visitor"),
    [
        # No proxies configured: the header is ignored, even from loopback.
        ("127.0.0.1", f"{SPOOFED}", [], "127.0.0.1"),
        ("127.0.0.1", f"{SPOOFED}, {VISITOR}", [], "127.0.0.1"),
        # A stranger's own header is ignored when the stranger is not a trusted proxy.
        ("203.0.113.5", f"{VISITOR}", ["127.0.0.1"], "203.0.113.5"),
        # The proxy appended the real visitor; whatever the visitor wrote before it is ignored.
        ("127.0.0.1", f"{SPOOFED}, {VISITOR}", ["127.0.0.1"], VISITOR),
        ("127.0.0.1", f"{VISITOR}", ["127.0.0.1"], VISITOR),
        # Two proxies (a load balancer in 10.0.0.0/8, then nginx on loopback).
        ("127.0.0.1", f"{SPOOFED}, {VISITOR}, 10.1.2.3", ["127.0.0.1", "10.0.0.0/8"], VISITOR),
        # Only trusted hops: the leftmost is the best there is.
        ("127.0.0.1", "10.1.2.3", ["127.0.0.0/8", "10.0.0.0/8"], "10.1.2.3"),
        # A trusted proxy without the header, or with rubbish in it.
        ("127.0.0.1", "", ["127.0.0.1"], "127.0.0.1"),
        ("127.0.0.1", "not-an-address", ["127.0.0.1"], "127.0.0.1"),
        ("127.0.0.1", f"{VISITOR}, unknown", ["127.0.0.1"], "127.0.0.1"),
        # IPv6, ports and IPv4-mapped addresses.
        ("::1", "[2001:db8::7]:4711", ["::1"], "2001:db8::7"),
        ("::ffff:127.0.0.1", f"{VISITOR}:8080", ["127.0.0.1"], VISITOR),
    ],
)
def test_the_visitor_is_the_rightmost_address_that_is_not_a_trusted_proxy(
    peer, header, trusted, visitor
):
    assert forwarded_client(peer, [header], trusted) == visitor


def test_several_forwarded_for_headers_are_read_as_one_list():
    assert forwarded_client("127.0.0.1", [SPOOFED, VISITOR], ["127.0.0.1"]) == VISITOR


def test_trusted_proxies_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PORTAL_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")
    assert Settings(_env_file=None, secret_key=KEY).trusted_proxies == ["127.0.0.1", "10.0.0.0/8"]
    monkeypatch.setenv("PORTAL_TRUSTED_PROXIES", '["::1"]')
    assert Settings(_env_file=None, secret_key=KEY).trusted_proxies == ["::1"]
    monkeypatch.delenv("PORTAL_TRUSTED_PROXIES")
    assert Settings(_env_file=None, secret_key=KEY).trusted_proxies == []
    with pytest.raises(ValueError, match="not an address or network"):
        Settings(_env_file=None, secret_key=KEY, trusted_proxies="localhost")


# ---------------------------------------------------------------- through the app


def test_a_spoofed_header_from_an_untrusted_peer_is_ignored(whoami, settings):
    assert settings.trusted_proxies == []
    assert _from(whoami, "127.0.0.1", SPOOFED) == "127.0.0.1"
    settings.trusted_proxies = ["10.0.0.1"]
    assert _from(whoami, "127.0.0.1", SPOOFED) == "127.0.0.1"
    assert _from(whoami, "203.0.113.5", SPOOFED) == "203.0.113.5"


def test_a_trusted_proxys_header_names_the_visitor(whoami, settings):
    settings.trusted_proxies = ["127.0.0.1"]
    assert _from(whoami, "127.0.0.1", f"{SPOOFED}, {VISITOR}") == VISITOR
    assert _from(whoami, "127.0.0.1") == "127.0.0.1"


def test_sign_in_limits_cannot_be_dodged_with_a_made_up_header(app, client, settings):
    """Behind a trusted proxy, a visitor changing X-Forwarded-For each time still meets the
    per-address limit, because only the address the proxy saw counts."""
    settings.trusted_proxies = ["127.0.0.1"]
    token = csrf_of(client.get("/staff/login"))
    browser = TestClient(
        app,
        raise_server_exceptions=False,
        client=("127.0.0.1", 40000),
        cookies={"portal_csrf": client.cookies["portal_csrf"]},
    )
    codes = []
    for number in range(settings.sign_in_attempts_per_address + 2):
        codes.append(
            browser.post(
                "/staff/login",
                data={"email": f"g{number}@x.example", "password": "x", "csrf_token": token},
                headers={"x-forwarded-for": f"10.9.{number}.1, {VISITOR}"},
                follow_redirects=False,
            ).status_code
        )
    assert codes[-2:] == [429, 429]
    assert codes.count(401) == settings.sign_in_attempts_per_address


# ---------------------------------------------------------------- `portal serve`, for real


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def serve_options(settings, monkeypatch) -> dict:
    """What `portal serve` hands to uvicorn."""
    captured: dict = {}
    monkeypatch.setattr(cli, "_settings", lambda: settings)
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: captured.update(options))
    result = CliRunner().invoke(cli.app, ["serve"])
    assert result.exit_code == 0, result.output
    return captured


@pytest.fixture
def served(whoami, serve_options):  # type: ignore[no-untyped-def]
    """The app on a real loopback port, run by uvicorn with `portal serve`'s options."""
    options = {
        key: value
        for key, value in serve_options.items()
        if key in {"proxy_headers", "forwarded_allow_ips", "server_header", "log_config"}
    }
    port = _free_port()
    config = uvicorn.Config(
        whoami, host="127.0.0.1", port=port, access_log=True, lifespan="off", **options
    )
    server = uvicorn.Server(config)
    access = logging.getLogger("uvicorn.access")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    # Read what uvicorn's configured access handler writes (it carries `portal serve`'s filter).
    log = io.StringIO()
    handlers = [h for h in access.handlers if isinstance(h, logging.StreamHandler)]
    assert handlers, "uvicorn configured no access log handler"
    streams = [(handler, handler.setStream(log)) for handler in handlers]
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        for handler, stream in streams:
            handler.setStream(stream)


def test_serve_leaves_forwarded_headers_to_the_portal(serve_options):
    assert serve_options["proxy_headers"] is False
    assert "forwarded_allow_ips" not in serve_options


@pytest.mark.committed
def test_a_served_portal_ignores_a_spoofed_header_from_loopback(served):
    base, _ = served
    response = httpx.get(
        f"{base}/whoami", headers={"x-forwarded-for": SPOOFED}, timeout=SERVED_TIMEOUT
    )
    assert response.text == "127.0.0.1"


@pytest.mark.committed
def test_a_served_portal_believes_a_trusted_proxy(served, settings):
    settings.trusted_proxies = ["127.0.0.1"]
    base, _ = served
    response = httpx.get(
        f"{base}/whoami",
        headers={"x-forwarded-for": f"{SPOOFED}, {VISITOR}"},
        timeout=SERVED_TIMEOUT,
    )
    assert response.text == VISITOR


# ---------------------------------------------------------------- private links out of the logs


@pytest.mark.committed
def test_the_access_log_never_shows_a_private_tracking_link(served):
    base, log = served
    token = "Zq3-secret_token_value_1234567890abcdef"
    httpx.get(f"{base}/track/{token}", timeout=SERVED_TIMEOUT)
    httpx.get(f"{base}/track/{token}/letters/1?download=1", timeout=SERVED_TIMEOUT)
    httpx.get(f"{base}/track/case", timeout=SERVED_TIMEOUT)
    time.sleep(0.2)
    written = log.getvalue()
    assert token not in written
    assert f"/track/{MASKED_TOKEN} " in written
    assert f"/track/{MASKED_TOKEN}/letters/1?download=1" in written
    assert "/track/case " in written


@pytest.mark.parametrize(
    ("path", "masked"),
    [
        ("/track/abc123", f"/track/{MASKED_TOKEN}"),
        ("/track/abc123/reply", f"/track/{MASKED_TOKEN}/reply"),
        ("/track/abc123?x=1", f"/track/{MASKED_TOKEN}?x=1"),
        ("/track/case", "/track/case"),
        ("/track/case/reply", "/track/case/reply"),
        ("/track/casework", f"/track/{MASKED_TOKEN}"),
        ("/track", "/track"),
        ('"GET /track/t0k3n HTTP/1.1" 200', f'"GET /track/{MASKED_TOKEN} HTTP/1.1" 200'),
    ],
)
def test_masking_private_links(path, masked):
    assert mask_private_links(path) == masked


def test_the_filter_masks_the_arguments_of_a_log_record():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s"',
        ("1.2.3.4", "GET", "/track/s3cr3t"),
        None,
    )
    assert PrivateLinkFilter().filter(record)
    assert "s3cr3t" not in record.getMessage()


def test_serve_puts_the_filter_on_every_log_handler():
    config = cli.serve_log_config()
    assert config["filters"]["private_links"]["()"] == "portal.security.PrivateLinkFilter"
    assert all("private_links" in h["filters"] for h in config["handlers"].values())
