"""The append-only history, and the `portal` command."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from portal import cli as cli_module
from portal.cli import app as cli
from portal.config import get_settings
from portal.history import Actor, history_of, record_event
from tests.clocks import TERM_DATES, fixed_test_clock


def test_history_events_cannot_be_changed(db_session):
    record_event(
        db_session,
        subject_type="complaint",
        subject_id=1,
        tag="complaint:create",
        actor=Actor.system(),
    )
    db_session.commit()
    with pytest.raises(DBAPIError):
        db_session.execute(text("UPDATE history_event SET tag = 'forged'"))
        db_session.commit()
    db_session.rollback()
    assert [event.tag for event in history_of(db_session, "complaint", 1)] == ["complaint:create"]


@pytest.fixture
def cli_env(monkeypatch, database_url, tmp_path):
    # The command line is handed the test clock and term dates, like the app.
    monkeypatch.setattr(cli_module, "CLOCK", fixed_test_clock())
    monkeypatch.setenv("PORTAL_TERM_DATES_FILE", str(TERM_DATES))
    monkeypatch.setenv("PORTAL_DATABASE_URL", database_url)
    monkeypatch.setenv("PORTAL_ATTACHMENTS_DIR", str(tmp_path))
    monkeypatch.setenv("PORTAL_SECRET_KEY", "cli-test-secret-" + "y" * 40)
    monkeypatch.setenv("PORTAL_SMTP_HOST", "")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.committed
def test_check_passes_with_a_reachable_database(cli_env, app):
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 0, result.output
    assert "Database: reachable" in result.output
    assert "All checks passed." in result.output


@pytest.mark.committed
def test_check_fails_when_the_database_is_unreachable(cli_env, monkeypatch, app):
    monkeypatch.setenv("PORTAL_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert "Database not reachable" in result.output


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.setenv("PORTAL_ENVIRONMENT", "production")
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["check"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "PORTAL_SECRET_KEY must be set in production" in result.output


@pytest.mark.committed
def test_create_user_and_demo(cli_env, app, db_session):
    result = CliRunner().invoke(
        cli,
        [
            "create-user",
            "--email",
            "new@school.example",
            "--name",
            "New Person",
            "--role",
            "office",
        ],
        input="a-long-enough-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Added New Person <new@school.example> as Office staff." in result.output
    demo = CliRunner().invoke(cli, ["demo"])
    assert demo.exit_code == 0, demo.output
    assert "head@brookfield-primary.example" in demo.output
    again = CliRunner().invoke(cli, ["demo", "--if-empty"])
    assert "already present" in again.output


@pytest.mark.committed
def test_send_mail_without_smtp_explains_messages_stay_queued(cli_env, app):
    result = CliRunner().invoke(cli, ["send-mail"])
    assert result.exit_code == 0
    assert "stay in the outbox" in result.output


@pytest.mark.committed
def test_remind_runs_and_reports(cli_env, app):
    result = CliRunner().invoke(cli, ["remind"])
    assert result.exit_code == 0, result.output
    assert "reminded 0, closed 0" in result.output


@pytest.mark.committed
def test_past_the_last_term_dates_the_demo_loads_and_remind_warns_the_admin(
    cli_env, app, monkeypatch
):
    from datetime import datetime

    from portal.clock import FixedClock

    monkeypatch.setattr(cli_module, "CLOCK", FixedClock(datetime(2028, 12, 4, 10, 0)))
    demo = CliRunner().invoke(cli, ["demo"])
    assert demo.exit_code == 0, demo.output
    remind = CliRunner().invoke(cli, ["remind"])
    assert remind.exit_code == 0, remind.output
    assert "admins warned about term dates 1" in remind.output
