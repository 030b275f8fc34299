"""The mail outbox: messages are stored first and delivered over SMTP afterwards.

Why an outbox rather than sending inline: a request that records a complaint (for example) must
not fail, or half-succeed, because the mail server is slow or down. `queue_mail` adds the message
to the caller's transaction, so the email exists if and only if the business change was
committed. `deliver_due` runs later (a worker or a CLI command), sends what is due, and retries
with exponential backoff. Nothing is ever deleted, so no message is lost while SMTP is down, and
an administrator can see and re-queue anything that finally failed.
"""

from __future__ import annotations

import enum
import logging
import smtplib
import ssl
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Column, DateTime, Index, Integer, String, Text, update
from sqlmodel import Field, Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from portal.config import Settings
from portal.db import insert_now, now_of
from portal.rows import Row
from portal.sealing import unseal

log = logging.getLogger("portal.mail")

# Stands in the stored body for the message's private link, which only the email itself carries.
SECRET_PLACEHOLDER = "[private link: sent only to the parent's own mailbox]"  # noqa: S105

# How long a sender holds a message it has claimed: longer than any send can take, so another
# sender never takes it meanwhile; a sender that dies mid-send leaves it to the next after this.
CLAIM_LEASE = timedelta(minutes=2)
BACKOFF_BASE_SECONDS = 60
BACKOFF_CAP_SECONDS = 3600
LAST_ERROR_MAX_CHARS = 500
TO_ADDRESS_MAX_CHARS = 320
SUBJECT_MAX_CHARS = 300
RELATED_MAX_CHARS = 40
MAX_ROW_ID = 2**31 - 1  # an Integer column is 32 bits on PostgreSQL
ONE_ADDRESS_HINT = "Enter one email address, like name@example.com"
# Characters that end a line somewhere (str.splitlines, email header parsing) besides CR and LF.
_LINE_BREAKS = frozenset("\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029")


class InvalidAddress(ValueError):
    """Not exactly one valid email address.

    `message` (also `str(error)`) is written for a parent and can be shown next to the form field;
    `reason` is the validator's technical explanation, for logs.
    """

    def __init__(self, reason: str = "", message: str = ONE_ADDRESS_HINT) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


def normalised_address(text: str) -> str:
    """The single email address in `text`, normalised; raises InvalidAddress for anything else.

    For form validation and the outbox alike, so what a form accepts can always be sent. Surrounding
    spaces are ignored; lists ("a@x.com, b@y.com" or with ";"), display names ("Name <a@x.com>"),
    quoted local parts, line breaks and control characters are refused. The syntax is checked
    by `email-validator` without a DNS look-up (the portal makes no network requests while handling
    a form); its normalised form keeps the local part's case and lower-cases the domain.
    """
    if not isinstance(text, str):
        raise InvalidAddress("not text")
    candidate = text.strip()
    if not candidate:
        raise InvalidAddress("empty")
    if any(char in _LINE_BREAKS or unicodedata.category(char) == "Cc" for char in candidate):
        raise InvalidAddress("line break or control character")
    if len(candidate) > TO_ADDRESS_MAX_CHARS:
        raise InvalidAddress(f"longer than {TO_ADDRESS_MAX_CHARS} characters")
    return _validated(candidate)


@lru_cache(maxsize=1024)
def _validated(candidate: str) -> str:
    """The syntax check, remembered: a parent's submission checks its address three times (the
    form, the service, the outbox), and an address's syntax never changes. A refusal is an
    exception, which the cache does not keep."""
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidAddress(str(error)) from None
    return result.normalized


class OutboxStatus(enum.StrEnum):
    """Where a message is in its life.

    Stored as its plain string value in a String(16) column, not a database enum type, so the
    migration stays simple on SQLite and PostgreSQL. A StrEnum (a `str` and an `Enum`) so its
    str() is the value itself.
    """

    queued = "queued"
    sent = "sent"
    failed = "failed"
    # Waiting for staff: the message belongs to a submission held as possible junk.
    held = "held"


class OutboxMessage(Row, table=True):
    """One email waiting to be sent, sent, or given up on.

    Column types are spelled out (String(n), Text, DateTime) so the Alembic migration can be
    written by hand and matches this model exactly on SQLite and PostgreSQL. Index names are
    explicit for the same reason.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_status", "status"),
        Index("ix_outbox_message_next_attempt_at", "next_attempt_at"),
        # The sender's query: "queued and due, oldest first".
        Index("ix_outbox_message_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_message_complaint_id", "complaint_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    to_address: str = Field(sa_column=Column(String(TO_ADDRESS_MAX_CHARS), nullable=False))
    subject: str = Field(sa_column=Column(String(SUBJECT_MAX_CHARS), nullable=False))
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    status: str = Field(
        default=OutboxStatus.queued.value, sa_column=Column(String(16), nullable=False)
    )
    # Delivery tries made so far (successful or not); drives the backoff and the give-up point.
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    # The message's private link, encrypted under the secret key until it is sent, then cleared:
    # the stored body holds only SECRET_PLACEHOLDER, so staff screens never show the link.
    sealed_secret: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # What the message is about, e.g. ("complaint", "42"), so a record's page can list its emails.
    related_type: str | None = Field(
        default=None, sa_column=Column(String(RELATED_MAX_CHARS), nullable=True)
    )
    related_id: str | None = Field(
        default=None, sa_column=Column(String(RELATED_MAX_CHARS), nullable=True)
    )
    # The case the message is about, if any: an admin reading it is a view of that case.
    # No foreign key: the outbox is shared machinery below the complaints, and its record of what
    # was sent outlives a case's retention.
    complaint_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    # Where the parent's reply goes (a case's reply address, portal receive-mail), if anywhere.
    reply_to: str | None = Field(
        default=None, sa_column=Column(String(TO_ADDRESS_MAX_CHARS), nullable=True)
    )


@dataclass
class DeliveryReport:
    """What one `deliver_due` run did, for logs and the CLI."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


def queue_mail(
    session: Session,
    *,
    to: str,
    subject: str,
    body_text: str,
    body_html: str | None = None,
    related: tuple[str, str] | None = None,
    sealed_secret: str | None = None,
    held: bool = False,
    complaint_id: int | None = None,
    reply_to: str | None = None,
) -> OutboxMessage:
    """Add a message to the caller's transaction; the caller commits it with its own change.

    It is inserted at once (`insert_now`, not committed): the row has its id and database errors
    surface here, while the email still disappears if the caller rolls back. The message is
    checked as `mail_to_queue` checks it.
    """
    return insert_now(
        session,
        mail_to_queue(
            to=to,
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            related=related,
            sealed_secret=sealed_secret,
            held=held,
            complaint_id=complaint_id,
            reply_to=reply_to,
        ),
    )


def mail_to_queue(
    *,
    to: str,
    subject: str,
    body_text: str,
    body_html: str | None = None,
    related: tuple[str, str] | None = None,
    sealed_secret: str | None = None,
    held: bool = False,
    complaint_id: int | None = None,
    reply_to: str | None = None,
) -> OutboxMessage:
    """The message `queue_mail` queues, checked and built but not saved: a busy path builds it
    before its first write and saves it with `insert_now` (SQLite's write turn is then short).

    Bad header values are refused now (ValueError; InvalidAddress for `to`), because they could
    never be sent, or would be sent somewhere else, and would only fail later, out of sight: `to`
    must be exactly one address (`normalised_address`), and no header value may hold a line break
    or control character.

    `complaint_id` names the case the message is about (an admin reading it is then recorded as
    a view of that case). When it is not given and `related` is ("complaint", "<id>"), it is
    taken from there.
    """
    address = normalised_address(to)
    _check_header_value("subject", subject, SUBJECT_MAX_CHARS)
    if sealed_secret is not None and SECRET_PLACEHOLDER not in body_text:
        raise ValueError("a message with a sealed secret needs SECRET_PLACEHOLDER in its body")
    message = OutboxMessage(
        to_address=address,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        sealed_secret=sealed_secret,
        status=OutboxStatus.held.value if held else OutboxStatus.queued.value,
    )
    return relate(message, related, complaint_id=complaint_id, reply_to=reply_to)


def relate(
    message: OutboxMessage,
    related: tuple[str, str] | None,
    *,
    complaint_id: int | None = None,
    reply_to: str | None = None,
) -> OutboxMessage:
    """Name what `message` is about and where replies go, checked as `mail_to_queue` checks
    them; a message built before its case was saved is related to it once it is."""
    if related is not None:
        _check_header_value("related type", related[0], RELATED_MAX_CHARS)
        _check_header_value("related id", related[1], RELATED_MAX_CHARS)
    message.complaint_id = _complaint_of(complaint_id, related)
    message.related_type, message.related_id = related if related is not None else (None, None)
    message.reply_to = None if reply_to is None else normalised_address(reply_to)
    return message


def _complaint_of(complaint_id: int | None, related: tuple[str, str] | None) -> int | None:
    from_related = None
    if related is not None and related[0] == "complaint":
        digits = related[1]
        if digits.isascii() and digits.isdigit() and 0 < int(digits) <= MAX_ROW_ID:
            from_related = int(digits)
    if complaint_id is None:
        return from_related
    if (
        isinstance(complaint_id, bool)
        or not isinstance(complaint_id, int)
        or not 0 < complaint_id <= MAX_ROW_ID
    ):
        raise ValueError(f"complaint_id must be a positive whole number, not {complaint_id!r}")
    if from_related is not None and from_related != complaint_id:
        raise ValueError(f"complaint_id {complaint_id} does not match related {related!r}")
    return complaint_id


def backoff_delay(attempts: int) -> timedelta:
    """Wait before the next try: 1, 2, 4 ... minutes after each failure, never more than an hour.

    Doubling gives a brief outage a quick recovery without hammering a server that is down for
    longer; the cap keeps a message from waiting for days once the server is back.
    """
    exponent = min(max(attempts - 1, 0), 16)  # 2**16 minutes is far past the cap already
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2**exponent, BACKOFF_CAP_SECONDS))


def deliver_due(
    session: Session, settings: Settings, *, now: datetime | None = None, limit: int = 50
) -> DeliveryReport:
    """Send up to `limit` queued messages that are due, over one SMTP connection.

    Commits after every message, so a crash mid-batch never sends an already-sent message again.
    Each message is picked with `SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite ignores
    it) and then claimed by a conditional update committed before the send: its next attempt
    moves `CLAIM_LEASE` ahead, and only the sender whose update changed the row sends it. So two
    senders running at once never send the same message, on SQLite too, and no database lock is
    held while the SMTP server is slow. A sender killed mid-send leaves the message to the next
    run once the lease ends. Use a session of its own: it commits.

    When SMTP is not configured (development), nothing is sent and messages stay queued, readable
    on the admin outbox page. If the server cannot be reached, every due message counts one failed
    attempt and is retried later, so nothing is lost while it is down.
    """
    report = DeliveryReport()
    if not settings.smtp_configured:
        return report
    now = now if now is not None else now_of(session)
    connection: smtplib.SMTP | None = None
    connect_error: str | None = None
    seen: list[int] = []
    try:
        while len(seen) < limit:
            message = session.exec(_due_query(now, seen)).first()
            if message is None:
                break
            assert message.id is not None
            seen.append(message.id)
            if not _claim(session, message, now, settings):
                continue
            error = connect_error
            if error is None and connection is None:
                try:
                    connection = _connect(settings)
                except Exception as exc:  # refused, timeout, TLS or login failure
                    connect_error = error = _describe(exc)
            if connection is not None:
                try:
                    connection.send_message(_build_email(message, settings, now))
                except Exception as exc:
                    error = _describe(exc)
                    if _connection_is_broken(exc):
                        _close(connection)
                        connection = None  # the next message reconnects
            outcome = _record_outcome(message, error, now, settings)
            session.add(message)
            session.commit()
            if error is not None:
                log.warning(
                    "outbox message %s not sent (try %s of %s; %s): %s",
                    message.id,
                    message.attempts,
                    settings.mail_max_attempts,
                    "given up, an admin can retry it on the outbox page"
                    if outcome is OutboxStatus.failed
                    else f"next try after {message.next_attempt_at:%Y-%m-%d %H:%M} UTC",
                    error,
                )
            if outcome is OutboxStatus.sent:
                report.sent += 1
            elif outcome is OutboxStatus.failed:
                report.failed += 1
            else:
                report.retried += 1
    finally:
        if connection is not None:
            _close(connection)
    return report


def _claim(session: Session, message: OutboxMessage, now: datetime, settings: Settings) -> bool:
    """Take the message for this sender (committed), or learn that another sender has it."""
    lease = max(CLAIM_LEASE, timedelta(seconds=10 * settings.smtp_timeout_seconds))
    claimed = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == message.id,
            col(OutboxMessage.status) == OutboxStatus.queued.value,
            col(OutboxMessage.next_attempt_at) <= now,
        )
        .values(next_attempt_at=now + lease)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    if claimed != 1:
        return False
    session.refresh(message)
    return True


def retry_now(session: Session, message_id: int) -> None:
    """Queue a failed (or waiting) message for the next sender run: the admin "try again" button.

    `attempts` is kept as history, so a message that had already failed gets one more try before
    it is marked failed again. Sent messages are refused, so a click never sends an email twice.
    The caller commits.
    """
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise LookupError(f"no outbox message {message_id}")
    if message.status == OutboxStatus.sent.value:
        raise ValueError(f"outbox message {message_id} has already been sent")
    message.status = OutboxStatus.queued.value
    message.next_attempt_at = now_of(session)
    session.add(message)


def outbox_page(
    session: Session, *, status: str | None = None, limit: int = 50, before_id: int | None = None
) -> list[OutboxMessage]:
    """One page of the admin outbox, newest first.

    Keyset paging (`before_id` = the last id on the previous page) stays fast and stable while
    new messages arrive, unlike OFFSET. An unknown status raises ValueError.
    """
    query = select(OutboxMessage)
    if status is not None:
        query = query.where(OutboxMessage.status == OutboxStatus(status).value)
    if before_id is not None:
        query = query.where(col(OutboxMessage.id) < before_id)
    query = query.order_by(col(OutboxMessage.id).desc()).limit(limit)
    return list(session.exec(query).all())


def _due_query(now: datetime, exclude_ids: list[int]) -> SelectOfScalar[OutboxMessage]:
    """The next due message, locked for this sender; skips rows another sender holds."""
    query = select(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.queued.value,
        col(OutboxMessage.next_attempt_at) <= now,
    )
    if exclude_ids:
        query = query.where(col(OutboxMessage.id).not_in(exclude_ids))
    return (
        query.order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def _record_outcome(
    message: OutboxMessage, error: str | None, now: datetime, settings: Settings
) -> OutboxStatus:
    """Update the row after one try and say what happened to it."""
    message.attempts += 1
    if error is None:
        message.status = OutboxStatus.sent.value
        message.sent_at = now
        message.sealed_secret = None
        message.last_error = None
        return OutboxStatus.sent
    message.last_error = error
    message.next_attempt_at = now + backoff_delay(message.attempts)
    if message.attempts >= settings.mail_max_attempts:
        message.status = OutboxStatus.failed.value
        return OutboxStatus.failed
    return OutboxStatus.queued


def _connect(settings: Settings) -> smtplib.SMTP:
    """Open, secure and log in to the SMTP server as configured."""
    timeout = settings.smtp_timeout_seconds
    connection: smtplib.SMTP
    if settings.smtp_tls == "ssl":
        connection = smtplib.SMTP_SSL(
            settings.smtp_host,
            settings.smtp_port,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
    else:
        connection = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    try:
        if settings.smtp_tls == "starttls":
            connection.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            connection.login(settings.smtp_user, settings.smtp_password)
    except BaseException:
        connection.close()
        raise
    return connection


def _close(connection: smtplib.SMTP) -> None:
    """Say goodbye politely if the server is still listening; just drop the socket if not."""
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()


def _connection_is_broken(exc: Exception) -> bool:
    """True if the connection cannot be trusted for the next message.

    A refused recipient or rejected data leaves the SMTP session usable (smtplib resets it), but a
    disconnect or a socket error/timeout does not. SMTPException is itself an OSError subclass.
    """
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def _build_email(message: OutboxMessage, settings: Settings, now: datetime) -> EmailMessage:
    """The MIME message: plain text, plus an HTML alternative when there is one."""
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.to_address
    email["Subject"] = message.subject
    if message.reply_to:
        email["Reply-To"] = message.reply_to
    email["Date"] = format_datetime(now.replace(tzinfo=UTC))
    # Our own domain, not the host's name: it is stable and avoids a DNS lookup per message.
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    email["Message-ID"] = make_msgid(domain=domain)
    body = message.body_text
    if message.sealed_secret is not None:
        body = body.replace(SECRET_PLACEHOLDER, unseal(settings.secret_key, message.sealed_secret))
    email.set_content(body)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    return email


def _describe(exc: BaseException) -> str:
    """A short, single-line error for the admin page."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text[:LAST_ERROR_MAX_CHARS]


def _check_header_value(name: str, value: str, max_chars: int) -> None:
    """Refuse values that would break the email headers or not fit the column."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty single line")
    if any(char in _LINE_BREAKS or unicodedata.category(char) == "Cc" for char in value):
        raise ValueError(f"{name} must be a single line without control characters")
    if len(value) > max_chars:
        raise ValueError(f"{name} is longer than {max_chars} characters")
