"""Breaking things on purpose: nothing a parent sent is lost.

Each test starts and stops the real thing it breaks (the portal's own process, a disk, an SMTP
server) and takes a few seconds. The PostgreSQL restart is in test_faults_postgres.py, the burst
of 1,000 submissions in tests/bench/burst.py (`make bench`).
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import os
import re
import signal
import subprocess
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select
from typer.testing import CliRunner

from portal import cli as cli_module
from portal.app import create_app
from portal.cli import app as cli
from portal.cli import send_mail_rounds
from portal.complaints import attachments, drafts
from portal.complaints.models import Attachment
from portal.config import get_settings
from portal.db import make_engine, make_sessions
from portal.mail import OutboxMessage, OutboxStatus, queue_mail
from portal.school.demo import create_demo_school
from portal.school.models import SchoolProfile
from tests.bench import journey
from tests.clocks import TERM_DATES, fixed_test_clock
from tests.databases import migrated_database
from tests.factories.complaints import PDF_BYTES
from tests.factories.parent_form import FORM, answer, answer_steps, upload
from tests.ops import servers
from tests.pages import page
from tests.test_mail import SmtpServer, free_port, make_settings

WHAT_HAPPENED = "My son was pushed over in the playground at lunchtime ‘again’."


def first_steps(client) -> None:  # type: ignore[no-untyped-def]
    client.get(FORM + "/kind")
    answer_steps(
        client,
        [
            ("kind", {"kind": "complaint"}),
            ("about", {"about": "school", "about_name": ""}),
            ("category", {"category": "Behaviour and bullying"}),
        ],
    )


# ------------------------------------------------------------------ the database goes away


def test_a_database_outage_gives_a_calm_try_again_page_that_keeps_what_was_typed(
    client, monkeypatch
):
    first_steps(client)

    def database_gone(*_args, **_kwargs):
        raise OperationalError("UPDATE complaint_draft", {}, Exception("server closed"))

    monkeypatch.setattr(drafts, "save", database_gone)
    response = answer(
        client,
        "what-happened",
        {
            "what_happened": WHAT_HAPPENED,
            "happened_on-day": "20",
            "happened_on-month": "11",
            "happened_on-year": "2026",
        },
    )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    html = page(response)
    assert html.select_one("h1").text.strip() == "Sorry, that did not go through"
    form = html.select_one("form[method=post]")
    assert form["action"] == FORM + "/what-happened"
    kept = {field["name"]: field["value"] for field in form.select("input[type=hidden]")}
    assert kept["what_happened"] == WHAT_HAPPENED
    assert kept["happened_on-day"] == "20" and kept["csrf_token"]

    monkeypatch.undo()
    again = client.post(form["action"], data=kept, follow_redirects=False)
    assert again.status_code == 303, "the same answers, sent again, go through"


def test_two_portals_in_one_process_each_name_their_own_school_when_the_database_fails(
    app, client, monkeypatch, tmp_path
):
    """The try-again page touches no database, so it shows the school its app read last: that
    app's, never another portal's in the same process (tests today, several schools later)."""
    ours = school_name_of(client.get("/"))
    with migrated_database("portal_other", tmp_path) as url:
        other_settings = app.state.settings.model_copy(update={"database_url": url})
        other_app = create_app(other_settings, app.state.clock)
        with Session(other_app.state.engine) as session:
            create_demo_school(session, TERM_DATES)
            profile = session.exec(select(SchoolProfile)).one()
            profile.name = "Riverside Academy"
            session.commit()
        try:
            with TestClient(other_app, raise_server_exceptions=False) as other:
                first_steps(client)
                first_steps(other)
                assert school_name_of(other.get("/")) == "Riverside Academy"

                def database_gone(*_args, **_kwargs):
                    raise OperationalError("UPDATE complaint_draft", {}, Exception("closed"))

                monkeypatch.setattr(drafts, "save", database_gone)
                for each, name in ((client, ours), (other, "Riverside Academy")):
                    response = answer(each, "what-happened", {"what_happened": WHAT_HAPPENED})
                    assert response.status_code == 503
                    assert school_name_of(response) == name
        finally:
            other_app.state.engine.dispose()


def school_name_of(response) -> str:  # type: ignore[no-untyped-def]
    return page(response).select_one(".portal-header__school, header a").get_text(strip=True)


# ------------------------------------------------------------------ the upload disk full


@pytest.fixture
def tiny_disk(tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    """The attachments folder on a 64 KB tmpfs (as root), or else a write that fails with ENOSPC
    half-way through, in-process."""
    folder = tmp_path / "attachments"
    folder.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(folder)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    if not mounted:
        real_open = open

        class HalfWrite:
            def __init__(self, path, mode):  # type: ignore[no-untyped-def]
                self.file = real_open(path, mode)

            def __enter__(self):  # type: ignore[no-untyped-def]
                return self

            def __exit__(self, *exc):  # type: ignore[no-untyped-def]
                self.file.close()

            def write(self, data: bytes) -> int:
                self.file.write(data[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(attachments, "open", HalfWrite, raising=False)
    yield folder
    if mounted:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_full_upload_disk_says_so_keeps_the_form_and_writes_nothing(
    tiny_disk, client, db_session
):
    first_steps(client)
    answer_steps(
        client,
        [
            (
                "what-happened",
                {
                    "what_happened": WHAT_HAPPENED,
                    "happened_on-day": "20",
                    "happened_on-month": "11",
                    "happened_on-year": "2026",
                },
            ),
            ("done-so-far", {"done_so_far": "I spoke to the class teacher."}),
            ("put-right", {"put_right": "Phone me the same day next time."}),
        ],
    )
    big = PDF_BYTES[:-6] + b"%" + b"x" * 200_000 + b"\n%%EOF\n"

    response = upload(client, "letter.pdf", big)

    assert response.status_code == 422
    assert "run out of space" in page(response).select_one(".govuk-error-summary").text
    assert list(tiny_disk.iterdir()) == [], "no file, whole or half-written"
    assert db_session.scalars(select(Attachment)).all() == []
    kept = page(client.get(FORM + "/what-happened")).select_one("textarea[name=what_happened]")
    assert kept is not None and kept.text.strip() == WHAT_HAPPENED
    small = upload(client, "note.pdf", PDF_BYTES)
    assert small.status_code == 303, "a file that fits still goes in"


# ------------------------------------------------------------------ the app killed mid-submission


@pytest.mark.long
@pytest.mark.committed
def test_the_app_killed_mid_submission_leaves_no_case_without_history_and_sweep_fixes_files(
    app, settings, tmp_path, monkeypatch
):
    engine = app.state.engine
    folder = Path(settings.attachments_dir)
    categories = journey.categories_of(engine)
    tokens = journey.insert_drafts(engine, 150, categories, fixed_test_clock().now().date(), 1)
    env = servers.portal_env(settings.database_url, folder, settings.secret_key)
    tally = servers.Tally()
    stop = threading.Event()
    with servers.served_portal(env) as served:
        threads = servers.parents(
            served.base_url, tokens, tally, threads=6, stop=stop, with_file=True
        )
        deadline = time.monotonic() + 60
        while len(tally.references) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(served.process.pid, signal.SIGKILL)
        served.process.wait()
        stop.set()
        for thread in threads:
            thread.join(timeout=20)

    assert tally.references, "parents were sending when the app was killed"
    assert set(tally.references) <= servers.stored_references(engine)
    assert servers.cases_without_history(engine) == []
    _, rows_without_file = servers.attachment_mismatches(engine, folder)
    assert rows_without_file == set()

    # Leftovers of a crash: a file whose row never committed, a half-written file, and a
    # draft's row whose file was lost; the sweep removes them (files older than the grace).
    (folder / ("0" * 32 + ".pdf")).write_bytes(PDF_BYTES)
    (folder / ("1" * 32 + ".pdf.part")).write_bytes(PDF_BYTES[:10])
    with Session(engine) as session:
        session.add(
            Attachment(
                draft_id="lost",
                filename="lost.pdf",
                content_type="application/pdf",
                size=1,
                sha256="0" * 64,
                storage_key="f" * 32 + ".pdf",
                uploaded_at=datetime(2026, 11, 25),
            )
        )
        session.commit()
    monkeypatch.setattr(cli_module, "CLOCK", fixed_test_clock())
    later = time.time() + 3600
    for path in folder.iterdir():
        os.utime(path, (later - 7200, later - 7200))
    monkeypatch.setattr(cli_module, "unix_seconds", lambda _moment: int(later))
    monkeypatch.setenv("PORTAL_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PORTAL_ATTACHMENTS_DIR", str(folder))
    monkeypatch.setenv("PORTAL_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("PORTAL_TERM_DATES_FILE", str(TERM_DATES))
    get_settings.cache_clear()
    try:
        dry = CliRunner().invoke(cli, ["sweep-orphans", "--dry-run"])
        swept = CliRunner().invoke(cli, ["sweep-orphans"])
        again = CliRunner().invoke(cli, ["sweep-orphans"])
    finally:
        get_settings.cache_clear()

    assert dry.exit_code == 0, dry.output
    assert "would remove" in dry.output
    assert swept.exit_code == 0, swept.output
    # The kill itself may have left a file without its row, or a half-written one, besides ours.
    counts = re.match(
        r"removed (\d+) files without a row, (\d+) half-written files, (\d+) draft", swept.output
    )
    assert counts is not None, swept.output
    without_row, half_written, drafts_without_file = map(int, counts.groups())
    assert without_row >= 1 and half_written >= 1 and drafts_without_file == 1
    assert again.output.startswith("removed 0 files without a row, 0 half-written files, 0 draft")
    assert servers.attachment_mismatches(engine, folder) == (set(), set())


def test_the_sweep_leaves_young_files_and_reports_a_case_file_that_is_gone(
    db_session, settings, cast
):
    from tests.factories.complaints import add_file, make_case

    folder = Path(settings.attachments_dir)
    case = make_case(
        db_session, settings, cast, "new", attachment_ids=[add_file(db_session, settings)]
    )
    stored = db_session.scalars(select(Attachment).where(Attachment.complaint_id == case.id)).one()
    (folder / stored.storage_key).unlink()
    (folder / "young.pdf").write_bytes(PDF_BYTES)
    # "Now" is the moment the file was written, as the file system dates it: the kernel's clock,
    # which faketime (CI's run in 2028) does not move.
    written = (folder / "young.pdf").stat().st_mtime

    report = attachments.sweep_orphans(db_session, settings, now_timestamp=written + 1)

    assert report.case_rows_without_file == [stored.id]
    assert report.files_without_row == []
    assert (folder / "young.pdf").exists()
    assert db_session.get(Attachment, stored.id) is not None


# ------------------------------------------------------------------ two senders, SMTP down then up

SPEED = 60  # one real second is a minute of the senders' time: backoff 1, 2, 4 s


def _sender(database_url: str, port: int, secret: str, started: float, until: float) -> None:
    """A sender process, as `portal send-mail --watch` runs, on a clock 60 times as fast."""
    from portal.clock import SystemClock
    from portal.mail import deliver_due

    base = SystemClock().now()
    # The claim lease is max(2 min, 10 x the SMTP timeout) of the senders' time: at 60 times
    # the speed, 2 min would be 2 real seconds, less than a send can take on a starved machine.
    # A 3-minute timeout makes the lease 30 min of their time, 30 real seconds: longer than the
    # test, as the real lease is longer than any real send.
    settings = make_settings(
        port, secret_key=secret, database_url=database_url, smtp_timeout_seconds=180
    )
    sessions = make_sessions(make_engine(database_url, SystemClock()))
    while time.time() < until:
        now = base + timedelta(seconds=(time.time() - started) * SPEED)
        with sessions() as session:
            deliver_due(session, settings, now=now)
        time.sleep(0.05)


@pytest.mark.committed
def test_two_senders_during_an_smtp_outage_deliver_every_message_exactly_once(app, settings):
    smtp = SmtpServer(free_port())
    engine = app.state.engine
    with Session(engine) as session:
        for number in range(30):
            queue_mail(
                session,
                to=f"parent{number}@example.com",
                subject=f"Your complaint {number}",
                body_text="We have received it.",
            )
        session.commit()
    context = multiprocessing.get_context("fork")  # no threads yet: the SMTP server starts later
    started = time.time()
    senders = [
        context.Process(
            target=_sender,
            args=(settings.database_url, smtp.port, settings.secret_key, started, started + 25),
        )
        for _ in range(2)
    ]
    for process in senders:
        process.start()
    try:
        deadline = time.time() + 20
        while time.time() < deadline and failed_tries(engine) < 60:
            time.sleep(0.1)  # both senders fail against the closed port, and back off
        smtp.start()
        deadline = time.time() + 22
        while time.time() < deadline and len(smtp.handler.envelopes) < 30:
            time.sleep(0.2)
    finally:
        for process in senders:
            process.terminate()
            process.join(10)
        smtp.stop()

    subjects = [message["Subject"] for message in smtp.handler.messages()]
    assert sorted(subjects) == sorted(f"Your complaint {number}" for number in range(30))
    with Session(engine) as session:
        rows = session.scalars(select(OutboxMessage)).all()
        assert {row.status for row in rows} == {OutboxStatus.sent.value}
        assert any(row.attempts > 1 for row in rows), "the outage cost some messages a try"


def failed_tries(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return sum(row.attempts for row in session.scalars(select(OutboxMessage)))


# ------------------------------------------------------------------ the sender's log


def test_an_idle_sender_logs_nothing_and_a_failure_says_why(app, settings, caplog):
    smtp_settings = make_settings(free_port(), secret_key=settings.secret_key)
    caplog.set_level(logging.INFO, logger="portal")

    totals = send_mail_rounds(
        app.state.sessions, smtp_settings, rounds=20, interval=5, sleep=lambda _s: None
    )
    assert (totals.sent, totals.retried) == (0, 0)
    assert caplog.records == [], "twenty idle rounds (100 s) write no line"

    with app.state.sessions() as session:
        queue_mail(session, to="parent@example.com", subject="Hello", body_text="Hi")
        session.commit()
    send_mail_rounds(app.state.sessions, smtp_settings, rounds=1, interval=5)

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "not sent (try 1 of 8; next try after" in warnings[0]
    assert "ConnectionRefusedError" in warnings[0]


def test_a_sender_logs_a_database_outage_once_and_its_return(settings, caplog):
    calls = {"n": 0}

    class Flaky:
        def __call__(self):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] <= 3:
                raise OperationalError("SELECT", {}, Exception("connection refused"))
            return Session(make_engine(settings.database_url, fixed_test_clock()))

    caplog.set_level(logging.INFO, logger="portal")
    send_mail_rounds(
        Flaky(),
        make_settings(free_port(), database_url=settings.database_url),
        rounds=5,
        interval=5,
        sleep=lambda _s: None,
    )

    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("database unreachable, trying again every 5 s")
    assert lines[1] == "database reachable again"


def test_a_session_closed_after_the_database_went_away_is_logged_not_raised(caplog):
    """Raised after the response began, it would cut the response off (seen under load)."""
    from portal import db

    class Gone:
        def close(self) -> None:
            raise OperationalError("ROLLBACK", {}, Exception("server closed the connection"))

    caplog.set_level(logging.WARNING, logger="portal")
    db._close(Gone())  # type: ignore[arg-type]
    assert "database connection lost while closing a session" in caplog.text
