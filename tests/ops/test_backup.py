"""Backups, restore and upgrades, as docs/operations.md tells the operator to do them.

A backup is the database dump plus the uploads folder. `portal restore-check` restores both into a
new database and opens a case and its files; the dump holds no key to any case (the outbox keeps
private links only sealed, and forgets them once sent); `portal migrate` from the previous
release's database says what it changed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import String, Text, create_engine, select
from sqlalchemy.engine import make_url
from sqlmodel import Session
from typer.testing import CliRunner

from portal import cli as cli_module
from portal.cli import app as cli
from portal.complaints.models import Attachment, Complaint
from portal.config import Settings, get_settings
from portal.db import make_engine
from portal.mail import OutboxMessage, OutboxStatus, deliver_due
from portal.migrations import current_revisions, upgrade
from portal.models import metadata
from portal.school.demo import create_demo_school
from tests.clocks import TERM_DATES, fixed_test_clock
from tests.factories.complaints import PDF_BYTES
from tests.factories.parent_form import FORM, answer_steps, send, upload
from tests.test_mail import SmtpServer, free_port, make_settings

pytestmark = pytest.mark.committed


def png_bytes() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def cli_env(monkeypatch, database_url, settings):
    monkeypatch.setattr(cli_module, "CLOCK", fixed_test_clock())
    monkeypatch.setenv("PORTAL_TERM_DATES_FILE", str(TERM_DATES))
    monkeypatch.setenv("PORTAL_DATABASE_URL", database_url)
    monkeypatch.setenv("PORTAL_ATTACHMENTS_DIR", str(settings.attachments_dir))
    monkeypatch.setenv("PORTAL_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("PORTAL_SMTP_HOST", "")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def submit_with_files(client) -> str:  # type: ignore[no-untyped-def]
    """A parent's complaint through the form, with a PDF and a picture; returns the done page."""
    client.get(FORM + "/kind")
    answer_steps(
        client,
        [
            ("kind", {"kind": "complaint"}),
            ("about", {"about": "school", "about_name": ""}),
            ("category", {"category": "Behaviour and bullying"}),
            (
                "what-happened",
                {
                    "what_happened": "My son was pushed over in the playground at lunchtime.",
                    "happened_on-day": "20",
                    "happened_on-month": "11",
                    "happened_on-year": "2026",
                },
            ),
            ("done-so-far", {"done_so_far": "I spoke to the class teacher."}),
            ("put-right", {"put_right": "Phone me the same day next time."}),
        ],
    )
    assert upload(client, "letter.pdf", PDF_BYTES).status_code == 303
    assert upload(client, "bruise.png", png_bytes(), action="continue").status_code == 303
    answer_steps(
        client,
        [
            (
                "contact",
                {
                    "anonymous": "no",
                    "parent_name": "Alex Parent",
                    "parent_email": "alex.parent@example.com",
                    "parent_phone": "",
                    "child_name": "Sam Parent",
                },
            )
        ],
    )
    sent = send(client)
    assert sent.status_code == 303, sent.text
    return client.get(sent.headers["location"]).text


def private_token(done_page: str) -> str:
    found = re.search(r"/track/([A-Za-z0-9_\-]{20,})", done_page)
    assert found, "the done page shows the private link"
    return found.group(1)


def every_stored_text(engine) -> str:  # type: ignore[no-untyped-def]
    """Every text value in every table: what a dump of the database holds."""
    values: list[str] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            if not columns:
                continue
            for row in connection.execute(select(*columns)):
                values.extend(str(value) for value in row if value is not None)
    return "\n".join(values)


def test_sent_emails_and_the_whole_database_hold_no_key_to_a_case(app, client, settings):
    token = private_token(submit_with_files(client))
    smtp = SmtpServer(free_port())
    smtp.start()
    try:
        with Session(app.state.engine) as session:
            report = deliver_due(session, make_settings(smtp.port, secret_key=settings.secret_key))
    finally:
        smtp.stop()
    assert report.sent >= 1
    delivered = "\n".join(m.get_body(("plain",)).get_content() for m in smtp.handler.messages())
    assert token in delivered, "the parent's own email carries the private link"

    stored = every_stored_text(app.state.engine)
    assert token not in stored
    with Session(app.state.engine) as session:
        sent = session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.sent.value)
        ).all()
        assert sent and all(message.sealed_secret is None for message in sent)


SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "backup.sh"


def back_up(settings: Settings, folder: Path) -> tuple[Path, Path]:
    """The documented backup: scripts/backup.sh on PostgreSQL (this run's schema only), or a
    copy of the SQLite file and a tar of the uploads folder."""
    url = settings.database_url
    if url.startswith("postgresql"):
        parsed = make_url(url)
        options = str(parsed.query.get("options", ""))
        schema = options.split("search_path=")[1] if "search_path=" in options else ""
        environment = {
            **os.environ,
            "PORTAL_DATABASE_URL": parsed.set(query={}).render_as_string(hide_password=False),
            "PORTAL_ATTACHMENTS_DIR": str(settings.attachments_dir),
            "PORTAL_BACKUP_PG_DUMP_ARGS": f"--schema={schema}" if schema else "",
            "PATH": f"{Path(cli_module._pg_tool('pg_dump')).parent}:{os.environ['PATH']}",
        }
        subprocess.run(
            [str(SCRIPT), str(folder / "sets")], check=True, capture_output=True, env=environment
        )
        return (
            next((folder / "sets").glob("portal-*.dump")),
            next((folder / "sets").glob("uploads-*.tar.gz")),
        )
    dump = folder / "portal.db"
    source = create_engine(url)
    with source.connect() as connection:
        connection.exec_driver_sql(f"VACUUM INTO '{dump}'")
    source.dispose()
    uploads = folder / "uploads.tar.gz"
    with tarfile.open(uploads, "w:gz") as archive:
        archive.add(settings.attachments_dir, arcname="attachments")
    return dump, uploads


def test_restore_check_restores_a_backup_and_opens_a_case_and_its_files(
    app, client, settings, cli_env, tmp_path
):
    submit_with_files(client)
    with Session(app.state.engine) as session:
        case = session.scalars(select(Complaint).order_by(Complaint.id.desc())).first()
        assert case is not None
        reference = case.reference
    dump, uploads = back_up(settings, tmp_path)

    result = CliRunner().invoke(
        cli, ["restore-check", str(dump), "--uploads", str(uploads), "--case", reference]
    )

    assert result.exit_code == 0, result.output
    assert f"Opened {reference}:" in result.output
    assert "2 files" in result.output
    assert "The backup restores" in result.output


def test_restore_check_fails_when_the_uploads_backup_misses_a_file(
    app, client, settings, cli_env, tmp_path
):
    submit_with_files(client)
    with Session(app.state.engine) as session:
        key = session.scalars(select(Attachment.storage_key)).first()
    dump, _ = back_up(settings, tmp_path)
    partial = tmp_path / "partial"
    shutil.copytree(settings.attachments_dir, partial)
    (partial / str(key)).unlink()

    result = CliRunner().invoke(cli, ["restore-check", str(dump), "--uploads", str(partial)])

    assert result.exit_code == 1
    assert "cannot be opened" in result.output or "has no file" in result.output


def previous_release(url: str) -> str:
    """The revision before the newest: the schema of the release before this one."""
    from alembic.script import ScriptDirectory

    from portal.migrations import alembic_config

    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_revision(script.get_current_head())
    assert isinstance(head.down_revision, str)
    return head.down_revision


def test_migrate_from_the_previous_release_keeps_the_cases_and_says_what_changed(
    monkeypatch, tmp_path, settings
):
    """The guide's upgrade (pull, install, migrate, restart) on a database with cases in it."""
    from tests.databases import migrated_database

    with migrated_database("portal_upgrade", tmp_path) as url:
        previous = previous_release(url)
        # Back to the previous release's schema, as the school's database is before the pull.
        from alembic import command
        from portal.migrations import alembic_config

        command.downgrade(alembic_config(url), previous)
        assert current_revisions(url) == (previous,)
        engine = make_engine(url, fixed_test_clock())
        with Session(engine) as session:
            create_demo_school(session, TERM_DATES)
            session.commit()
        from tests.factories.complaints import submit

        old_settings = settings.model_copy(update={"database_url": url})
        with Session(engine) as session:
            reference = submit(session, old_settings).reference
        engine.dispose()

        monkeypatch.setattr(cli_module, "CLOCK", fixed_test_clock())
        monkeypatch.setenv("PORTAL_DATABASE_URL", url)
        monkeypatch.setenv("PORTAL_SECRET_KEY", settings.secret_key)
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(cli, ["migrate"])
            again = CliRunner().invoke(cli, ["migrate"])
        finally:
            get_settings.cache_clear()

        assert result.exit_code == 0, result.output
        assert "Applied 1 change to the database:" in result.output
        head = current_revisions(url)[0]
        assert f"  {head}: " in result.output
        assert "nothing to change" in again.output
        engine = make_engine(url, fixed_test_clock())
        with Session(engine) as session:
            assert session.scalars(select(Complaint.reference)).all() == [reference]
        engine.dispose()


def test_upgrade_reports_every_revision_it_applies_in_order(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    applied = upgrade(url)
    assert applied[0].revision == "0001"
    assert applied[-1].revision == current_revisions(url)[0]
    assert all(step.description for step in applied)
    assert upgrade(url) == []


def test_backup_script_is_documented_and_valid_shell():
    assert os.access(SCRIPT, os.X_OK)
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    guide = (SCRIPT.parents[1] / "docs" / "operations.md").read_text()
    assert "scripts/backup.sh" in guide and "portal restore-check" in guide


UNITS = SCRIPT.parents[1] / "deploy" / "systemd"


def test_the_documented_units_run_real_commands_and_every_timer_has_its_service():
    import configparser
    import shlex

    guide = (SCRIPT.parents[1] / "docs" / "operations.md").read_text()
    units = sorted(UNITS.iterdir())
    assert units
    for unit in units:
        assert unit.stem in guide, f"{unit.name} is in the guide"
        parsed = configparser.ConfigParser(strict=False, interpolation=None)
        parsed.read(unit)
        if unit.suffix == ".timer":
            assert (UNITS / unit.name.replace(".timer", ".service")).is_file()
            assert parsed["Timer"].get("OnCalendar")
            continue
        command = shlex.split(parsed["Service"]["ExecStart"])
        if command[0].endswith("/portal"):
            result = CliRunner().invoke(cli, [*command[1:], "--help"])
            assert result.exit_code == 0, (unit.name, result.output)
        else:
            assert command[0] == "/srv/portal/scripts/backup.sh"
