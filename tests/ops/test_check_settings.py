"""`portal check` and `portal serve` on bad settings: each problem fails the check with the fix in
words, serve refuses to start in production on the unsafe ones, and no message quotes a secret."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from portal import checks, cli, serving
from portal.clock import FixedClock
from portal.config import PROJECT_ROOT, Settings, get_settings, secret_key_weakness
from tests.clocks import TERM_DATES, fixed_test_clock
from tests.factories.school import change_school

STRONG_KEY = secrets.token_urlsafe(48)
SMTP_PASSWORD = "hunter2-smtp-" + secrets.token_hex(8)


def production(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "production",
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "secret_key": STRONG_KEY,
        "base_url": "https://portal.school.example",
        "term_dates_file": TERM_DATES,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the secret key


@pytest.mark.parametrize(
    "key",
    [
        "<at least 32 random characters: python3 -c ...>",
        "change-me-change-me-change-me-change-me",
        "x" * 64,
        "abababababababababababababababababababab",
        "Summer2026Summer2026Summer2026!!!",
    ],
)
def test_a_placeholder_or_low_entropy_key_fails_the_check_and_stops_serve(
    key, tmp_path, database_url
):
    settings = production(tmp_path, database_url, secret_key=key)
    finding = checks.check_secret_key(settings)
    assert not finding.ok and finding.unsafe
    assert "token_urlsafe(48)" in finding.fix
    assert key not in finding.text + finding.fix
    assert finding in checks.unsafe_problems(settings)


def test_random_keys_pass_every_time():
    for _ in range(500):
        assert secret_key_weakness(secrets.token_urlsafe(48)) is None
        assert secret_key_weakness(secrets.token_hex(32)) is None
        assert secret_key_weakness(secrets.token_urlsafe(32)) is None


# ---------------------------------------------------------------- base URL, paths, uploads


def test_an_http_base_url_fails_in_production_only(tmp_path, database_url):
    settings = production(tmp_path, database_url, base_url="http://portal.school.example")
    finding = checks.check_base_url(settings)
    assert not finding.ok and finding.unsafe
    assert "https://" in finding.fix
    settings.environment = "development"
    assert checks.check_base_url(settings).ok


def test_every_path_is_absolute_and_relative_ones_are_in_the_data_folder(tmp_path, monkeypatch):
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # a service's working directory must not matter
    settings = Settings(
        data_dir=tmp_path / "data",
        attachments_dir=Path("uploads"),
        templates_override_dir=Path("templates"),
        term_dates_file=Path("term-dates.toml"),
        database_url="sqlite:///portal.db",
        _env_file=None,
    )
    assert settings.attachments_dir == tmp_path / "data" / "uploads"
    assert settings.templates_override_dir == tmp_path / "data" / "templates"
    assert settings.term_dates_file == tmp_path / "data" / "term-dates.toml"
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'portal.db'}"
    default = Settings(_env_file=None)
    assert default.data_dir == PROJECT_ROOT / "var"
    assert default.attachments_dir == PROJECT_ROOT / "var" / "attachments"
    relative = Settings(data_dir=Path("var"), _env_file=None)
    assert relative.data_dir == PROJECT_ROOT / "var"
    absolute = Settings(attachments_dir=tmp_path / "files", _env_file=None)
    assert absolute.attachments_dir == tmp_path / "files"
    assert Settings(database_url="postgresql+psycopg://p@h/d", _env_file=None).database_url == (
        "postgresql+psycopg://p@h/d"
    )


def test_an_upload_folder_that_cannot_be_written_fails_and_stops_serve(tmp_path, database_url):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    settings = production(tmp_path, database_url, attachments_dir=blocked / "attachments")
    finding = checks.check_uploads(settings)
    assert not finding.ok and finding.unsafe
    assert "install -d -m 0700" in finding.fix
    assert finding in checks.unsafe_problems(settings)


def test_the_check_makes_a_missing_upload_folder_owner_only(tmp_path, database_url):
    settings = production(tmp_path, database_url)
    finding = checks.check_uploads(settings)
    assert finding.ok, finding
    assert settings.attachments_dir.stat().st_mode & 0o777 == 0o700
    assert list(settings.attachments_dir.iterdir()) == []  # the probe file is gone
    settings.attachments_dir.chmod(0o755)
    opened = checks.check_uploads(settings)
    assert not opened.ok and "chmod 700" in opened.fix


# ---------------------------------------------------------------- the school


def _school_findings(app, settings, clock) -> dict[str, checks.Finding]:
    with app.state.sessions() as session:
        return {f.name: f for f in checks.check_school(session, settings, clock)}


def test_the_demo_schools_contact_details_fail_in_production(app, tmp_path, database_url):
    settings = production(tmp_path, database_url)
    found = _school_findings(app, settings, fixed_test_clock())
    assert not found["School profile"].ok
    assert "still the demo school's" in found["School profile"].text
    assert "/staff/settings" in found["School profile"].fix
    change_school(
        app,
        name="Ashgrove Primary School",
        contact_email="office@ashgrove.sch.example",
        contact_phone="01632 960000",
        contact_address="Ashgrove Primary School, 1 High Street, Ashby AB1 2CD",
    )
    assert _school_findings(app, settings, fixed_test_clock())["School"].ok


def test_term_dates_that_end_within_six_weeks_fail(app, tmp_path, database_url):
    settings = production(tmp_path, database_url)
    # The test term dates end on 21 July 2028.
    ahead = _school_findings(app, settings, FixedClock(datetime(2028, 6, 1, 9, 0)))
    assert ahead["Term dates"].ok
    close = _school_findings(app, settings, FixedClock(datetime(2028, 6, 20, 9, 0)))
    assert not close["Term dates"].ok
    assert "21 July 2028" in close["Term dates"].text
    assert "/staff/settings/term-dates" in close["Term dates"].fix
    past = _school_findings(app, settings, FixedClock(datetime(2028, 12, 4, 9, 0)))
    assert "ended on 21 July 2028" in past["Term dates"].text


# ---------------------------------------------------------------- the commands


@pytest.fixture
def environment(monkeypatch, database_url, tmp_path):
    """The command line's settings come from the environment, as in production."""
    monkeypatch.setattr(cli, "CLOCK", fixed_test_clock())
    for name in list(os.environ):
        if name.startswith("PORTAL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    values = {
        "PORTAL_ENVIRONMENT": "production",
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_DATA_DIR": str(tmp_path / "data"),
        "PORTAL_SECRET_KEY": STRONG_KEY,
        "PORTAL_BASE_URL": "https://portal.school.example",
        "PORTAL_TERM_DATES_FILE": str(TERM_DATES),
        "PORTAL_SMTP_PASSWORD": SMTP_PASSWORD,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _run(*args: str):
    get_settings.cache_clear()
    return CliRunner().invoke(cli.app, list(args))


@pytest.mark.committed
def test_check_fails_with_every_problem_and_its_fix(environment, app):
    environment.setenv("PORTAL_SECRET_KEY", "change-me-" * 4)
    environment.setenv("PORTAL_BASE_URL", "http://portal.school.example")
    environment.setenv("PORTAL_RATE_LIMIT_STORAGE", "redis://127.0.0.1:1")
    result = _run("check")
    assert result.exit_code == 1
    for expected in (
        "PORTAL_SECRET_KEY is not fit for production",
        "PORTAL_BASE_URL must start with https://",
        "still the demo school's",
        "Redis at 127.0.0.1:1 is not answering",
        "Fix: ",
    ):
        assert expected in result.output, result.output
    assert "Database: reachable" in result.output
    assert "change-me-" not in result.output


@pytest.mark.committed
def test_check_passes_on_a_portal_set_up_for_production(environment, app):
    change_school(
        app,
        name="Ashgrove Primary School",
        contact_email="office@ashgrove.sch.example",
        contact_phone="01632 960000",
        contact_address="Ashgrove Primary School, 1 High Street, Ashby AB1 2CD",
    )
    result = _run("check")
    assert result.exit_code == 0, result.output
    assert "All checks passed." in result.output
    assert SMTP_PASSWORD not in result.output


@pytest.fixture
def recorded_serve(monkeypatch):
    started: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: started.append(options))
    monkeypatch.setattr(serving.Supervisor, "run", lambda self: started.append(self.options))
    return started


def test_serve_refuses_unsafe_production_settings(environment, recorded_serve, tmp_path):
    environment.setenv("PORTAL_SECRET_KEY", "x" * 40)
    environment.setenv("PORTAL_BASE_URL", "http://portal.school.example")
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    environment.setenv("PORTAL_ATTACHMENTS_DIR", str(blocked / "attachments"))
    result = _run("serve", "--workers", "2")
    assert result.exit_code == 1
    assert "Not starting" in result.output
    assert "PORTAL_SECRET_KEY" in result.output
    assert "PORTAL_BASE_URL" in result.output
    assert "cannot be written" in result.output
    assert recorded_serve == []


def test_serve_starts_with_safe_production_settings(environment, recorded_serve):
    environment.setenv("PORTAL_SMTP_HOST", "127.0.0.1")  # unreachable mail does not stop it
    environment.setenv("PORTAL_SMTP_PORT", "1")
    result = _run("serve")
    assert result.exit_code == 0, result.output
    assert len(recorded_serve) == 1


def test_serve_outside_production_does_not_refuse(environment, recorded_serve):
    environment.setenv("PORTAL_ENVIRONMENT", "development")
    environment.setenv("PORTAL_SECRET_KEY", "x" * 40)
    environment.setenv("PORTAL_BASE_URL", "http://127.0.0.1:8000")
    assert _run("serve").exit_code == 0
    assert len(recorded_serve) == 1


# ---------------------------------------------------------------- secrets in errors


def test_a_settings_error_names_the_setting_and_quotes_no_value(environment):
    """A whole-settings check (the secret key) used to quote every setting it was given."""
    environment.setenv("PORTAL_SECRET_KEY", "")
    environment.setenv("PORTAL_SMTP_USER", "portal@school.example")
    result = _run("check")
    assert result.exit_code == 2
    assert "PORTAL_SECRET_KEY must be set in production" in result.output
    assert SMTP_PASSWORD not in result.output
    assert "portal@school.example" not in result.output
    environment.setenv("PORTAL_SMTP_PORT", "not-a-port")
    field = _run("check")
    assert field.exit_code == 2
    assert "PORTAL_SMTP_PORT: Input should be a valid integer" in field.output
    assert "not-a-port" not in field.output
    assert SMTP_PASSWORD not in field.output


def test_a_settings_error_from_dotenv_quotes_no_value_when_the_app_starts(tmp_path):
    """uvicorn imports portal.main: the traceback it prints must not hold the .env either."""
    (tmp_path / ".env").write_text(
        "PORTAL_ENVIRONMENT=production\n"
        "PORTAL_SECRET_KEY=short\n"
        f"PORTAL_SMTP_PASSWORD={SMTP_PASSWORD}\n"
        "PORTAL_DATABASE_URL=postgresql+psycopg://portal:db-password-123@127.0.0.1/portal\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    result = subprocess.run(
        [sys.executable, "-c", "import portal.main"],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "PORTAL_SECRET_KEY must be at least 32 characters" in result.stderr
    assert SMTP_PASSWORD not in result.stderr + result.stdout
    assert "db-password-123" not in result.stderr + result.stdout


def test_the_benchmarks_production_servers_pass_the_start_up_check() -> None:
    """`make bench` starts `portal serve` in production: it must not be refused at start-up (an
    https:// base URL was once missing and every load benchmark stopped before it began)."""
    from tests.bench.load import production_env

    env = production_env("sqlite:///bench.db", secrets.token_urlsafe(48), Path("/tmp"), "memory://")
    settings = Settings(
        **{key.removeprefix("PORTAL_").lower(): value for key, value in env.items()},
        _env_file=None,
    )
    assert settings.is_production
    assert checks.unsafe_problems(settings) == []
