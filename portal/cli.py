"""The `portal` command: serve, migrate, load demo data, add staff, send and receive mail,
purge, check, and the operator's restore check and orphan sweep."""

from __future__ import annotations

import getpass
import logging
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import typer
from sqlalchemy import text
from sqlmodel import Session

from portal.clock import SystemClock, unix_seconds
from portal.config import Settings, get_settings

CLOCK = SystemClock()
log = logging.getLogger("portal.cli")

app = typer.Typer(help="The school's parent portal.", no_args_is_help=True, add_completion=False)


def _settings() -> Settings:
    try:
        return get_settings()
    except ValueError as error:
        typer.secho(f"Settings problem: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from error


def _session(settings: Settings) -> Session:
    """A session telling the real time: the command line, like the app, is given the clock here."""
    from portal.db import make_engine

    return Session(make_engine(settings.database_url, CLOCK), expire_on_commit=False)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes (one per CPU in production)."),
    reload: bool = typer.Option(False, help="Restart when code changes (development)."),
    access_log: bool | None = typer.Option(
        None,
        "--access-log/--no-access-log",
        help="Log every request (default: on in development, off in production, where the "
        "reverse proxy logs requests).",
    ),
) -> None:
    """Serve the portal with uvicorn. In production it refuses to start with a guessable secret
    key, an http:// base URL or an upload folder it cannot write (`portal check` says more).

    With several workers they accept on one socket and share the connections out evenly, by
    how many each has open (see portal/serving.py). uvicorn's own proxy-header handling is
    off: the portal believes X-Forwarded-For only from the proxies named in
    PORTAL_TRUSTED_PROXIES (see docs/operations.md), and logs never show a parent's private
    tracking link.
    """
    from portal.checks import unsafe_problems
    from portal.serving import serve as run_server

    settings = _settings()
    if settings.is_production:
        refused = unsafe_problems(settings)
        for finding in refused:
            typer.secho(f"{finding.text}\n    Fix: {finding.fix}", fg=typer.colors.RED, err=True)
        if refused:
            typer.secho(
                "Not starting: the portal would not be safe to serve (see portal check).",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(1)
    if access_log is None:
        access_log = settings.environment != "production"
    run_server(
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        access_log=access_log,
        log_config=serve_log_config(),
    )


def serve_log_config() -> dict:
    """uvicorn's logging, with the private-link filter on every handler."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["private_links"] = {"()": "portal.security.PrivateLinkFilter"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("private_links")
    return config


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (Alembic)."""
    from portal.migrations import upgrade

    settings = _settings()
    applied = upgrade(settings.database_url)
    if not applied:
        typer.echo("Database is up to date: nothing to change.")
        return
    typer.echo(f"Applied {len(applied)} change{'s' if len(applied) != 1 else ''} to the database:")
    for step in applied:
        typer.echo(f"  {step.revision}: {step.description}")
    typer.echo("Database is up to date.")


@app.command()
def demo(
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Only load when there are no staff yet."
    ),
) -> None:
    """Load the demo school: staff in every role, the policy, and example cases."""
    from portal.demo import DEMO_PASSWORD, load_demo, print_sign_ins

    settings = _settings()
    with _session(settings) as session:
        loaded = load_demo(session, settings, only_if_empty=if_empty)
        typer.echo("Demo data loaded." if loaded else "Demo data already present.")
        print_sign_ins(session, DEMO_PASSWORD, typer.echo)


@app.command("create-user")
def create_user(
    email: str = typer.Option(..., help="Their email address; they sign in with it."),
    name: str = typer.Option(..., help="Their full name."),
    role: list[str] = typer.Option(..., help="office, head, chair, clerk, governor or admin."),
) -> None:
    """Add a staff account. The password is asked for, never taken from the command line."""
    from portal.accounts.models import Role
    from portal.accounts.services import AccountError
    from portal.accounts.services import create_user as add_user
    from portal.history import Actor
    from portal.school.services import school_of

    settings = _settings()
    unknown = [name for name in role if name not in Role.__members__]
    if unknown:
        typer.secho(f"Unknown role: {', '.join(unknown)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    with _session(settings) as session:
        try:
            user = add_user(
                session,
                email=email,
                name=name,
                password=password,
                roles=role,
                actor=Actor("cli", "The portal create-user command"),
                avoid=[school_of(session).name],
            )
        except AccountError as error:
            typer.secho(error.message, fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from error
        session.commit()
        typer.echo(f"Added {user.name} <{user.email}> as {', '.join(user.role_labels)}.")


@app.command("send-mail")
def send_mail(
    watch: bool = typer.Option(False, help="Keep running, sending every few seconds."),
    interval: float = typer.Option(5.0, help="Seconds between rounds with --watch."),
) -> None:
    """Deliver queued emails from the outbox over SMTP, retrying failures with backoff.

    With --watch it runs until stopped (a systemd service): it logs a line when it sends or
    fails to send something (saying why), and stays quiet while the outbox is empty.
    """
    from portal.db import make_engine, make_sessions

    _log_to_stderr()
    settings = _settings()
    if not settings.smtp_configured:
        typer.echo("No SMTP server is configured (PORTAL_SMTP_HOST); messages stay in the outbox.")
        raise typer.Exit(0)
    sessions = make_sessions(make_engine(settings.database_url, CLOCK))
    if watch:
        log.info(
            "sending from the outbox every %s s through %s:%s",
            interval,
            settings.smtp_host,
            settings.smtp_port,
        )
    report = send_mail_rounds(sessions, settings, rounds=None if watch else 1, interval=interval)
    if not watch:
        typer.echo(f"sent {report.sent}, will retry {report.retried}, failed {report.failed}")


def send_mail_rounds(
    sessions: Callable[[], Session],
    settings: Settings,
    *,
    rounds: int | None,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryTotals:
    """The sender's loop: a round every `interval` seconds (`rounds` of them, or for ever).

    A round that did something logs one line; an empty round logs nothing, so an idle sender
    writes nothing to the journal. A database that goes away is logged once when it goes and
    once when it is back; the loop keeps going (nothing is lost: messages wait in the outbox).
    """
    from sqlalchemy.exc import DBAPIError

    from portal.mail import deliver_due

    totals = DeliveryTotals()
    database_down = False
    done = 0
    while rounds is None or done < rounds:
        done += 1
        try:
            with sessions() as session:
                report = deliver_due(session, settings)
        except DBAPIError as error:
            if not database_down:
                log.warning(
                    "database unreachable, trying again every %s s: %s",
                    interval,
                    " ".join(str(error.orig).split())[:300],
                )
            database_down = True
        else:
            if database_down:
                log.info("database reachable again")
            database_down = False
            totals.sent += report.sent
            totals.retried += report.retried
            totals.failed += report.failed
            if report.sent or report.retried or report.failed:
                log.info(
                    "sent %s, will retry %s, failed %s", report.sent, report.retried, report.failed
                )
        if rounds is None or done < rounds:
            sleep(interval)
    return totals


class DeliveryTotals:
    """What the sender's rounds did in all."""

    def __init__(self) -> None:
        self.sent = 0
        self.retried = 0
        self.failed = 0


def _log_to_stderr() -> None:
    """Long-running commands log with logging (journald keeps it); set up once."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
        )


@app.command()
def remind() -> None:
    """Email handlers whose deadline is 2 school days away; close lapsed windows; purge old drafts.

    Safe to run every hour: each deadline is reminded once.
    """
    from portal.complaints.drafts import purge_expired
    from portal.complaints.services import remind as send_reminders
    from portal.school.term_dates import warn_admins

    _log_to_stderr()
    settings = _settings()
    with _session(settings) as session:
        report = send_reminders(session, settings)
        purged = purge_expired(session, settings=settings)
        warned = warn_admins(session, settings)
        session.commit()
    summary = (
        f"reminded {report.reminded}, closed {report.closed}, deadlines moved {report.moved}, "
        f"expired drafts removed {purged}, admins warned about term dates {warned}"
    )
    if report.reminded or report.closed or report.moved or purged or warned:
        log.info("remind: %s", summary)
    typer.echo(summary)


@app.command("parent-link")
def parent_link(
    email: str = typer.Argument(..., help="The parent's or carer's address on the register."),
) -> None:
    """Print a fresh one-time sign-in link for a parent or carer on the pupil register.

    For the office (a parent at the desk, or on the phone with no email to hand) and the demo.
    Nothing is emailed; the link works once, for PORTAL_PARENT_LINK_MINUTES.
    """
    from portal.consent.services.sign_in import printed_link

    settings = _settings()
    with _session(settings) as session:
        link = printed_link(session, settings, email)
        if link is None:
            typer.secho(
                f"{email!r} is not the address of a parent or carer of a pupil on roll.",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(1)
        session.commit()
    typer.echo(link)


@app.command("consent-invitations")
def consent_invitations() -> None:
    """Ask parents again when photo consent answers have lapsed; forget old sign-in links and
    the answers of pupils who left over a year ago; check the pictures in published news posts
    again, since answers lapse with time (a post showing a lapsed pupil is flagged).

    Run daily (by the scheduler, beside `portal remind`). Each lapse is asked about once, however
    often it runs.
    """
    from portal.consent.services.invitations import daily

    settings = _settings()
    with _session(settings) as session:
        report = daily(session, settings)
        session.commit()
    typer.echo(
        f"parents asked again {report.emailed}, old sign-in links forgotten "
        f"{report.links_forgotten}, answers of pupils who left over a year ago forgotten "
        f"{report.answers_forgotten}, news posts checked again for the consent of "
        f"{report.pupils_checked} pupils"
    )


@app.command("rebuild-counts")
def rebuild_counts() -> None:
    """Recount cases per status from the cases themselves and repair the counter table."""
    from portal.complaints.services import rebuild_status_counts

    settings = _settings()
    with _session(settings) as session:
        changed = rebuild_status_counts(session)
        session.commit()
    for key, (was, now) in changed.items():
        typer.echo(f"{key}: {was} -> {now}")
    typer.echo(f"{len(changed)} counters repaired." if changed else "All counters were right.")


@app.command()
def seed(
    cases: int = typer.Option(..., "--cases", min=1, help="How many cases to add."),
    rng_seed: int = typer.Option(1, "--rng-seed", help="Seed for the made-up details."),
) -> None:
    """Add many realistic made-up cases (for benchmarks and trying the queue at scale)."""
    from portal.complaints.seed import seed_cases

    settings = _settings()
    started = CLOCK.monotonic()
    with _session(settings) as session:
        added = seed_cases(session, settings, cases, rng_seed=rng_seed, progress=typer.echo)
    typer.echo(f"Added {added:,} cases in {CLOCK.monotonic() - started:,.1f} s.")


@app.command()
def purge(
    case: str = typer.Option(..., "--case", help="The case's reference, like C-7K4P-2QX."),
    reason: str = typer.Option(..., help="Why, e.g. its retention period has ended. Recorded."),
    by: str = typer.Option(..., "--by", help="Email of the admin who decided it. Recorded."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask before deleting."),
) -> None:
    """Delete a finished case's history at the end of its retention period.

    The purge is itself recorded in the case's history (how many events, who, why) and is never
    purged. On PostgreSQL run it as the database owner (the account `portal migrate` uses): the
    portal's own least-privilege account cannot delete history.
    """
    from portal.accounts.models import Role
    from portal.accounts.services import find_user_by_email
    from portal.complaints.services import find_by_reference
    from portal.history import Actor, purge_case_history

    settings = _settings()
    with _session(settings) as session:
        complaint = find_by_reference(session, case)
        if complaint is None:
            typer.secho(f"No case has the reference {case!r}.", fg=typer.colors.RED, err=True)
            raise typer.Exit(1)
        if complaint.is_active:
            typer.secho(
                f"{complaint.reference} is still open: only a finished case's history is purged.",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(1)
        user = find_user_by_email(session, by)
        if user is None or not user.is_active or not user.has_role(Role.admin):
            typer.secho(
                f"{by!r} is not an active admin account; an admin must decide a purge.",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(1)
        if not yes:
            typer.confirm(
                f"Delete the history of {complaint.reference}? The purge itself is recorded.",
                abort=True,
            )
        assert complaint.id is not None
        try:
            removed = purge_case_history(session, complaint.id, Actor.staff(user), reason)
        except ValueError as error:
            typer.secho(str(error), fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from error
        session.commit()
    typer.echo(f"Purged {removed} history events of {complaint.reference}; the purge is recorded.")


@app.command("receive-mail")
def receive_mail(
    maildir: str = typer.Option("", help="Place the new emails in this maildir, then stop."),
    listen: str = typer.Option("", help="Listen for emails over SMTP on HOST:PORT."),
    lmtp: bool = typer.Option(False, help="With --listen: speak LMTP (behind Postfix or Exim)."),
) -> None:
    """Parents' email replies: place each on its case, or hold it for office (never dropped)."""
    from pathlib import Path

    from portal.complaints.inbound import listen as run_listener
    from portal.complaints.inbound import process_maildir
    from portal.db import make_engine, make_sessions

    settings = _settings()
    if bool(maildir) == bool(listen):
        typer.secho(
            "Give one of --maildir PATH or --listen HOST:PORT.", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(2)
    if not settings.reply_address:
        typer.echo("No reply address is set (PORTAL_REPLY_ADDRESS): every email will be held.")
    sessions = make_sessions(make_engine(settings.database_url, CLOCK))
    if maildir:
        folder = Path(maildir)
        if not (folder / "new").is_dir():
            typer.secho(f"Not a maildir (no new/ folder): {folder}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2)
        report = process_maildir(sessions, settings, folder)
        typer.echo(
            f"placed {report.placed}, held for office {report.held}, "
            f"already received {report.duplicates}, left to try again {report.failed}"
        )
        if report.failed:
            raise typer.Exit(1)
        return
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        typer.secho("--listen takes HOST:PORT, like 127.0.0.1:2525", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    typer.echo(f"Listening for email replies on {host}:{port} ({'LMTP' if lmtp else 'SMTP'}).")
    run_listener(sessions, settings, host, int(port), lmtp=lmtp)


@app.command("sweep-orphans")
def sweep_orphans(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would be removed."),
    grace_minutes: int = typer.Option(
        60, min=0, help="Leave files younger than this (uploads in flight)."
    ),
) -> None:
    """After a crash: remove attachment files no row names, half-written files, and draft rows
    whose file is gone. A case's row whose file is gone is reported (restore it from backup)."""
    from datetime import timedelta

    from portal.complaints.attachments import sweep_orphans as sweep

    settings = _settings()
    with _session(settings) as session:
        report = sweep(
            session,
            settings,
            now_timestamp=float(unix_seconds(CLOCK.now())),
            grace=timedelta(minutes=grace_minutes),
            dry_run=dry_run,
        )
        if not dry_run:
            session.commit()
    verb = "would remove" if dry_run else "removed"
    typer.echo(
        f"{verb} {len(report.files_without_row)} files without a row, "
        f"{len(report.partial_files)} half-written files, "
        f"{len(report.draft_rows_without_file)} draft attachments without a file"
    )
    for attachment_id in report.case_rows_without_file:
        typer.secho(
            f"Attachment {attachment_id} belongs to a case but its file is missing: "
            "restore it from the uploads backup.",
            fg=typer.colors.RED,
            err=True,
        )
    if report.case_rows_without_file:
        raise typer.Exit(1)


@app.command("restore-check")
def restore_check(
    dump: Path = typer.Argument(
        ..., help="The database backup: a `pg_dump --format=custom` file, or a SQLite copy."
    ),
    uploads: Path = typer.Option(
        ..., help="The uploads backup: a folder, or a .tar.gz of the attachments folder."
    ),
    case: str = typer.Option("", help="Open this case (its reference); default the newest."),
    server: str = typer.Option(
        "",
        help="PostgreSQL to restore into (a new database is made there and dropped after); "
        "default PORTAL_DATABASE_URL's server. The account must be allowed to create databases.",
    ),
    keep: bool = typer.Option(False, help="Keep the restored database (its URL is printed)."),
) -> None:
    """Restore a backup into a new database and prove the portal opens a case and its files."""
    from portal.complaints.backups import check_restored

    settings = _settings()
    if not dump.is_file():
        typer.secho(f"No such backup file: {dump}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    with tempfile.TemporaryDirectory(prefix="portal-restore-") as scratch:
        folder = _unpacked_uploads(uploads, Path(scratch))
        with RestoredDatabase(dump, server or settings.database_url, Path(scratch), keep) as url:
            restored = settings.model_copy(update={"database_url": url, "attachments_dir": folder})
            with _session(restored) as session:
                report = check_restored(session, restored, case)
            typer.echo(f"Restored {report.cases} cases and {report.attachments} attachments.")
            if report.opened_reference:
                typer.echo(
                    f"Opened {report.opened_reference}: {report.opened_events} history events, "
                    f"{report.opened_files} files."
                )
    for problem in report.problems:
        typer.secho(problem, fg=typer.colors.RED, err=True)
    if report.problems:
        raise typer.Exit(1)
    typer.echo("The backup restores: the portal opens its cases and their files.")


def _unpacked_uploads(uploads: Path, scratch: Path) -> Path:
    if uploads.is_dir():
        return uploads
    if not uploads.is_file():
        typer.secho(f"No such uploads backup: {uploads}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    import tarfile

    target = scratch / "uploads"
    target.mkdir()
    with tarfile.open(uploads) as archive:
        archive.extractall(target, filter="data")
    entries = [entry for entry in target.iterdir()]
    # `tar -C /srv/portal/var -czf uploads.tar.gz attachments` holds one folder: use it.
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return target


class RestoredDatabase:
    """A new database holding the dump: a PostgreSQL database made for it, or a SQLite copy."""

    def __init__(self, dump: Path, server_url: str, scratch: Path, keep: bool) -> None:
        self.dump = dump
        self.server_url = server_url
        self.scratch = scratch
        self.keep = keep
        self.name = ""

    def __enter__(self) -> str:
        with self.dump.open("rb") as source:
            is_sqlite = source.read(16) == b"SQLite format 3\x00"
        if is_sqlite:
            copy = self.scratch / "restored.db"
            shutil.copyfile(self.dump, copy)
            return f"sqlite:///{copy}"
        if not self.server_url.startswith("postgresql"):
            typer.secho(
                "This is a PostgreSQL backup: give --server postgresql+psycopg://...",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(2)
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.name = f"portal_restore_check_{secrets.token_hex(4)}"
        self.admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        url = make_url(self.server_url).set(database=self.name)
        libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
        restore = subprocess.run(  # noqa: S603 (our own arguments, no shell)
            [
                _pg_tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                f"--dbname={libpq}",
                str(self.dump),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if restore.returncode != 0:
            self.__exit__(None, None, None)
            failure = restore.stderr.strip()[-2000:]
            typer.secho(f"pg_restore failed: {failure}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1)
        restored = url.render_as_string(hide_password=False)
        if self.keep:
            typer.echo(f"Restored database kept: {url.render_as_string(hide_password=True)}")
        return restored

    def __exit__(self, *_exc: object) -> None:
        if not self.name or self.keep:
            return
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()
        self.name = ""


def _pg_tool(name: str) -> str:
    """The newest PostgreSQL client tool installed (Debian keeps them per version)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return str(candidates[-1])
    found = shutil.which(name)
    if found is None:
        typer.secho(f"{name} is not installed (apt-get install postgresql-client).", err=True)
        raise typer.Exit(2)
    return found


@app.command()
def check() -> None:
    """Check the configuration: secret key, base URL, upload folder, database, the school's
    profile and term dates, Redis and SMTP (a real handshake). Exits 1, with the fix in words,
    when anything needs doing."""
    from portal.checks import run_all

    settings = _settings()
    typer.echo(f"Environment: {settings.environment}")
    typer.echo(f"Data folder: {settings.data_dir}")
    findings = run_all(settings, CLOCK)
    for finding in findings:
        if finding.ok:
            typer.echo(f"{finding.name}: {finding.text}")
    problems = [finding for finding in findings if not finding.ok]
    for finding in problems:
        typer.secho(f"{finding.text}\n    Fix: {finding.fix}", fg=typer.colors.RED, err=True)
    if problems:
        typer.secho(f"{len(problems)} to fix.", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo("All checks passed.")


if __name__ == "__main__":
    app()
