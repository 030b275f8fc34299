"""`portal check`: is this portal fit to serve parents? Each check says what it found and, when
something is wrong, what to do about it in words.

Some problems make the portal unsafe to run at all in production (a guessable secret key, pages
over plain http, uploads that cannot be stored); `portal serve` refuses to start on those
(`unsafe_problems`). The rest (Redis, SMTP, term dates, the demo school's contact details) are
for an operator to fix, while the portal keeps what parents send.
"""

from __future__ import annotations

import secrets
import smtplib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlmodel import Session

from portal.clock import Clock, school_today
from portal.config import Settings, secret_key_weakness

TERM_DATES_NEEDED_AHEAD = timedelta(weeks=6)


@dataclass(frozen=True)
class Finding:
    """One check's answer: `fix` is empty when all is well."""

    name: str
    text: str
    fix: str = ""
    unsafe: bool = False

    @property
    def ok(self) -> bool:
        return not self.fix


def _ok(name: str, text: str) -> Finding:
    return Finding(name, text)


def _problem(name: str, text: str, fix: str, *, unsafe: bool = False) -> Finding:
    return Finding(name, text, fix, unsafe)


# ---------------------------------------------------------------- what serve refuses without


def unsafe_problems(settings: Settings) -> list[Finding]:
    """The problems `portal serve` refuses to start with in production (no database needed)."""
    return [
        finding
        for finding in (
            check_secret_key(settings),
            check_base_url(settings),
            check_uploads(settings),
        )
        if not finding.ok and finding.unsafe
    ]


def check_secret_key(settings: Settings) -> Finding:
    if not settings.is_production:
        return _ok("Secret key", "not checked outside production")
    weakness = secret_key_weakness(settings.secret_key)
    if weakness is None:
        return _ok("Secret key", "long and random")
    return _problem(
        "Secret key",
        f"PORTAL_SECRET_KEY is not fit for production: {weakness}",
        'Make a new one with: python3 -c "import secrets; print(secrets.token_urlsafe(48))" '
        "and put it in PORTAL_SECRET_KEY (everyone signed in is signed out).",
        unsafe=True,
    )


def check_base_url(settings: Settings) -> Finding:
    if not settings.is_production:
        return _ok("Base URL", settings.base_url)
    if settings.uses_https:
        return _ok("Base URL", settings.base_url)
    return _problem(
        "Base URL",
        "PORTAL_BASE_URL must start with https:// in production (links in emails, secure cookies)",
        "Set PORTAL_BASE_URL to the https:// address parents use, with TLS at the proxy.",
        unsafe=True,
    )


def check_uploads(settings: Settings) -> Finding:
    """The attachments folder exists (made 0700 if not), only its owner may open it, and a file
    can be written there and removed: tried, not guessed from the permission bits."""
    folder = settings.attachments_dir
    name = "Upload folder"
    try:
        if not folder.is_dir():
            folder.mkdir(mode=0o700, parents=True)
            folder.chmod(0o700)
        probe = folder / f".portal-check-{secrets.token_hex(8)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        return _problem(
            name,
            f"{folder} cannot be written ({error.strerror or error.__class__.__name__})",
            f"Create it as the portal's user, owner-only: install -d -m 0700 -o portal {folder} "
            "(or set PORTAL_DATA_DIR / PORTAL_ATTACHMENTS_DIR to a folder that user owns).",
            unsafe=True,
        )
    if folder.stat().st_mode & 0o077:
        return _problem(
            name,
            f"{folder} can be opened by other users (mode {folder.stat().st_mode & 0o777:o})",
            f"Make it owner-only: chmod 700 {folder}",
        )
    return _ok(name, f"{folder} (writable, owner-only)")


# ---------------------------------------------------------------- services the portal uses


def check_database(settings: Settings) -> Finding:
    from portal.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        return _problem(
            "Database",
            "Database not reachable: "
            + (str(getattr(error, "orig", None) or error).strip().splitlines() or ["?"])[0],
            "Start PostgreSQL and check PORTAL_DATABASE_URL (user, password, host, database).",
        )
    finally:
        engine.dispose()
    return _ok("Database", "reachable")


def _where(url: str) -> str:
    """host:port of a URL, never its user name or password."""
    parts = urlsplit(url)
    return f"{parts.hostname or '?'}:{parts.port or ''}".rstrip(":")


def check_redis(settings: Settings) -> Finding:
    name = "Rate limits"
    if not settings.uses_redis:
        note = "counted in each process (set PORTAL_RATE_LIMIT_STORAGE to Redis for 2+ workers)"
        return _ok(name, note)
    where = _where(settings.rate_limit_storage)
    try:
        import redis
    except ImportError:
        return _problem(
            name,
            "PORTAL_RATE_LIMIT_STORAGE names Redis, but the Redis client is not installed",
            "Install the production extras: .venv/bin/pip install -e '.[production]'",
        )
    try:
        client = redis.Redis.from_url(
            settings.rate_limit_storage, socket_connect_timeout=3, socket_timeout=3
        )
        client.ping()
        client.close()
    except redis.AuthenticationError:
        return _problem(
            name,
            f"Redis at {where} refused the password in PORTAL_RATE_LIMIT_STORAGE",
            "Put Redis's password in the URL: redis://:PASSWORD@HOST:PORT",
        )
    except (redis.RedisError, OSError) as error:
        return _problem(
            name,
            f"Redis at {where} is not answering ({error.__class__.__name__})",
            "Start Redis (systemctl start redis-server) or correct PORTAL_RATE_LIMIT_STORAGE. "
            "Until it answers the portal counts limits in each process.",
        )
    return _ok(name, f"Redis at {where} answers")


def check_smtp(settings: Settings) -> Finding:
    """A real handshake, as the mail sender will make it: connect, STARTTLS or TLS as
    configured, log in if a user is set; nothing is sent."""
    name = "SMTP"
    if not settings.smtp_configured:
        return _ok(name, "not configured; emails stay in the outbox")
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    timeout = settings.smtp_timeout_seconds
    try:
        if settings.smtp_tls == "ssl":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=timeout,
                context=ssl.create_default_context(),
            )
        else:
            connection = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    except ssl.SSLError as error:
        return _problem(
            name,
            f"{where} did not complete a TLS handshake ({error.reason or error})",
            "Check PORTAL_SMTP_PORT (465 for PORTAL_SMTP_TLS=ssl) and the server's certificate.",
        )
    except OSError as error:
        return _problem(
            name,
            f"SMTP server not reachable at {where} ({error.strerror or error.__class__.__name__})",
            "Check PORTAL_SMTP_HOST and PORTAL_SMTP_PORT, and that this server may reach it.",
        )
    try:
        return _smtp_session(settings, connection, where)
    except (smtplib.SMTPException, OSError) as error:
        return _problem(
            name,
            f"{where} broke off the handshake ({error.__class__.__name__})",
            "Check PORTAL_SMTP_PORT and PORTAL_SMTP_TLS with your mail provider.",
        )
    finally:
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()


def _smtp_session(settings: Settings, connection: smtplib.SMTP, where: str) -> Finding:
    name = "SMTP"
    connection.ehlo()
    secured = settings.smtp_tls == "ssl"
    if settings.smtp_tls == "starttls":
        if not connection.has_extn("starttls"):
            return _problem(
                name,
                f"{where} does not offer STARTTLS, so emails (and the password) would go "
                "unencrypted",
                "Use the provider's submission port (587 with STARTTLS, or 465 with "
                "PORTAL_SMTP_TLS=ssl). Only for a relay on this machine set PORTAL_SMTP_TLS=none.",
            )
        try:
            connection.starttls(context=ssl.create_default_context())
        except ssl.SSLError as error:
            return _problem(
                name,
                f"{where}: STARTTLS failed ({error.reason or error.__class__.__name__})",
                "The server's certificate must be valid for PORTAL_SMTP_HOST and trusted here.",
            )
        connection.ehlo()
        secured = True
    if settings.smtp_user:
        if not connection.has_extn("auth"):
            return _problem(
                name,
                f"{where} does not offer to log in (no AUTH), but PORTAL_SMTP_USER is set",
                "Check the port and PORTAL_SMTP_TLS (many servers offer AUTH only after "
                "STARTTLS), or leave PORTAL_SMTP_USER empty for a relay that needs no login.",
            )
        try:
            connection.login(settings.smtp_user, settings.smtp_password)
        except smtplib.SMTPAuthenticationError:
            return _problem(
                name,
                f"{where} refused PORTAL_SMTP_USER and PORTAL_SMTP_PASSWORD",
                "Check the user name and password with your mail provider (an app password, "
                "if it asks for one).",
            )
    how = "TLS" if secured else "no TLS"
    login = "logged in" if settings.smtp_user else "no login"
    return _ok(name, f"{where} answers ({how}, {login})")


# ---------------------------------------------------------------- the school itself


def check_school(session: Session, settings: Settings, clock: Clock) -> Iterator[Finding]:
    from portal.school.demo import BROOKFIELD
    from portal.school.services import calendar_of, school_of

    school = school_of(session)
    if not school.is_set_up:
        yield _problem(
            "School profile",
            "School profile: not set up yet",
            "Sign in as an admin (portal create-user --role admin) and follow the setup steps.",
        )
    else:
        demo = [
            label
            for label, key in (
                ("name", "name"),
                ("email", "contact_email"),
                ("phone", "contact_phone"),
                ("address", "contact_address"),
            )
            if getattr(school, key) == BROOKFIELD[key]
        ]
        if demo and settings.is_production:
            yield _problem(
                "School profile",
                f"The school's {', '.join(demo)} are still the demo school's "
                f"({BROOKFIELD['name']})",
                "An admin sets your school's own on Settings, Name and Contact details "
                "(/staff/settings).",
            )
        else:
            yield _ok("School", school.name)
    calendar = calendar_of(session)
    where = "Add them on Settings, Term dates (/staff/settings/term-dates)."
    if calendar.is_empty:
        yield _problem("Term dates", "Term dates: none yet", where)
        return
    today = school_today(clock.now())
    last = calendar.last_known_day
    if last - today < TERM_DATES_NEEDED_AHEAD:
        gone = "ended" if last < today else "end"
        yield _problem(
            "Term dates",
            f"The term dates {gone} on {last:%d %B %Y}: deadlines past then cannot be worked out",
            "Add next year's terms (or import the council's .ics calendar). " + where,
        )
        return
    yield _ok("Term dates", f"known until {last:%d %B %Y}")


def run_all(settings: Settings, clock: Clock) -> list[Finding]:
    """Every check, in the order an operator fixes things."""
    from portal.db import make_engine

    findings = [
        check_secret_key(settings),
        check_base_url(settings),
        check_uploads(settings),
        check_database(settings),
    ]
    if findings[-1].ok:
        engine = make_engine(settings.database_url, clock)
        try:
            with Session(engine) as session:
                findings.extend(check_school(session, settings, clock))
        except Exception as error:
            findings.append(
                _problem(
                    "School profile",
                    f"School profile and term dates could not be read ({error.__class__.__name__})",
                    "Run portal migrate first.",
                )
            )
        finally:
            engine.dispose()
    findings.append(check_redis(settings))
    findings.append(check_smtp(settings))
    return findings
