"""`portal serve`: the access-log switch, the workers' one listening socket (sharing the
connections out evenly is tried with real workers in tests/ops/test_serve_workers.py), and the
memory a started app settles."""

from __future__ import annotations

import gc
import secrets

import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from portal import cli, serving
from portal.app import create_app


@pytest.fixture
def served_with(settings, monkeypatch):
    """Runs `portal serve ARGS` with uvicorn and the supervisor replaced by recorders."""

    def run(*args: str, environment: str = "test") -> dict:
        captured: dict = {}
        settings.environment = environment
        if environment == "production":  # what serve refuses without there (tests/ops/test_check_*)
            settings.secret_key = secrets.token_urlsafe(48)
            settings.base_url = "https://portal.school.example"
        monkeypatch.setattr(cli, "_settings", lambda: settings)
        monkeypatch.setattr(
            uvicorn, "run", lambda target, **options: captured.update(options, target=target)
        )
        monkeypatch.setattr(
            serving.Supervisor,
            "run",
            lambda self: captured.update(self.options, workers=self.workers, supervisor=True),
        )
        result = CliRunner().invoke(cli.app, ["serve", *args])
        assert result.exit_code == 0, result.output
        return captured

    return run


def test_the_access_log_is_on_by_default_outside_production(served_with):
    assert served_with()["access_log"] is True


def test_the_access_log_is_off_by_default_in_production(served_with):
    assert served_with(environment="production")["access_log"] is False


def test_the_access_log_switch_wins(served_with):
    assert served_with("--access-log", environment="production")["access_log"] is True
    assert served_with("--no-access-log")["access_log"] is False


def test_one_worker_is_plain_uvicorn(served_with):
    options = served_with()
    assert options["target"] == "portal.main:app"
    assert "supervisor" not in options


def test_several_workers_go_through_the_supervisor(served_with):
    options = served_with("--workers", "2", "--no-access-log")
    assert options["supervisor"] is True
    assert options["workers"] == 2
    assert options["proxy_headers"] is False
    assert options["access_log"] is False


def test_the_workers_share_one_listening_socket_opened_by_the_parent():
    """A taken port fails at once, in the parent; the workers accept on this one socket."""
    listener = serving.listening_socket("127.0.0.1", 0)
    port = listener.getsockname()[1]
    try:
        with pytest.raises(OSError):
            serving.listening_socket("127.0.0.1", port)
    finally:
        listener.close()


def test_a_served_app_puts_what_it_holds_out_of_the_collectors_reach_once_started(settings):
    """Once the app has started, a full collection no longer scans what it built at start-up."""
    app = serving.settle_after_start(create_app(settings))
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        with TestClient(app) as client:
            assert gc.get_freeze_count() > 0
            assert client.get("/healthz").status_code == 200
    finally:
        gc.unfreeze()
