"""`portal parent-link EMAIL` prints a fresh one-time link for an address on the register, for
the office and the demo."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from portal import cli as cli_module
from portal.cli import app as cli
from portal.config import get_settings
from tests.clocks import TERM_DATES, fixed_test_clock
from tests.conftest import csrf_of
from tests.consent.families import two_families

pytestmark = pytest.mark.committed
CLI_SECRET = "cli-test-secret-" + "y" * 40


@pytest.fixture
def cli_env(monkeypatch, database_url, tmp_path, settings):
    monkeypatch.setattr(cli_module, "CLOCK", fixed_test_clock())
    monkeypatch.setenv("PORTAL_TERM_DATES_FILE", str(TERM_DATES))
    monkeypatch.setenv("PORTAL_DATABASE_URL", database_url)
    monkeypatch.setenv("PORTAL_ATTACHMENTS_DIR", str(tmp_path))
    monkeypatch.setenv("PORTAL_SECRET_KEY", CLI_SECRET)
    monkeypatch.setenv("PORTAL_SMTP_HOST", "")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_parent_link_prints_a_link_that_signs_in_once(cli_env, app, db_session):
    two_families(db_session)
    result = CliRunner().invoke(cli, ["parent-link", "Sarah@example.com"])
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith("http://127.0.0.1:8000/photos/sign-in/")
    client = TestClient(app)
    path = "/" + link.split("/", 3)[3]
    used = client.post(path, data={"csrf_token": csrf_of(client.get(path))}, follow_redirects=False)
    assert used.status_code == 303
    assert "Millie Jones" in client.get("/photos/answers").text


def test_parent_link_refuses_an_address_not_on_the_register(cli_env, app, db_session):
    two_families(db_session)
    result = CliRunner().invoke(cli, ["parent-link", "stranger@example.com"])
    assert result.exit_code == 1
    assert "not the address of a parent or carer" in result.output
