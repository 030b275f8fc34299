"""The `portal` command: serve, migrate, load demo data, add staff, send and receive mail,
purge, check."""

from __future__ import annotations

import getpass
import sys
import time

import typer
from sqlmodel import Session

from portal.clock import SystemClock
from portal.config import Settings, get_settings

CLOCK = SystemClock()

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

    With several workers each has its own listening socket (SO_REUSEPORT), so the kernel spreads
    connections evenly over them (see portal/serving.py). uvicorn's own proxy-header handling is
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
    upgrade(settings.database_url)
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
    """Deliver queued emails from the outbox over SMTP, retrying failures with backoff."""
    from portal.mail import deliver_due

    settings = _settings()
    if not settings.smtp_configured:
        typer.echo("No SMTP server is configured (PORTAL_SMTP_HOST); messages stay in the outbox.")
        raise typer.Exit(0)
    with _session(settings) as session:
        while True:
            report = deliver_due(session, settings)
            typer.echo(f"sent {report.sent}, will retry {report.retried}, failed {report.failed}")
            if not watch:
                return
            time.sleep(interval)


@app.command()
def remind() -> None:
    """Email handlers whose deadline is 2 school days away; close lapsed windows; purge old drafts.

    Safe to run every hour: each deadline is reminded once.
    """
    from portal.complaints.drafts import purge_expired
    from portal.complaints.services import remind as send_reminders
    from portal.school.term_dates import warn_admins

    settings = _settings()
    with _session(settings) as session:
        report = send_reminders(session, settings)
        purged = purge_expired(session, settings=settings)
        warned = warn_admins(session, settings)
        session.commit()
    typer.echo(
        f"reminded {report.reminded}, closed {report.closed}, deadlines moved {report.moved}, "
        f"expired drafts removed {purged}, admins warned about term dates {warned}"
    )


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
    the answers of pupils who left over a year ago.

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
        f"{report.answers_forgotten}"
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
