"""`portal receive-mail`: parents' email replies, from a maildir or an SMTP listener.

Each email is placed on its case or held for office (`services.inbound`) and committed on its
own, before the mail server is told it arrived (the listener's "250") or the file leaves `new/`
(the maildir): a crash at any point leaves the email where the mail system will offer it again,
and an email offered twice is stored once (its Message-ID).

Nothing is dropped: an email the rules cannot read is held whole as "could not be read"; only if
even that cannot be stored (the database is down) does the listener answer "try again later"
(451), and the sending server does, or the maildir file stays in `new/` for the next run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from portal.complaints.inbound_mail import message_key, parse
from portal.complaints.models import InboundMail, InboundStatus
from portal.complaints.services.inbound import (
    already_received,
    held_lately,
    hold_unreadable,
    receive,
)
from portal.config import Settings
from portal.mail import InvalidAddress, normalised_address

log = logging.getLogger("portal.inbound")

Sessions = Callable[[], Session]


@dataclass
class Outcome:
    """What happened to one email: its row, and whether this delivery stored it (False: seen
    before, by its Message-ID)."""

    mail_id: int | None
    status: str
    new: bool


def receive_one(
    sessions: Sessions, settings: Settings, raw: bytes, recipients: list[str] | None = None
) -> Outcome:
    """Place or hold one email and commit. Raises only when nothing could be stored."""
    with sessions() as session:
        try:
            mail, new = receive(session, settings, raw, recipients=recipients or [])
            outcome = Outcome(mail.id, mail.status, new)
            session.commit()
            return outcome
        except IntegrityError:
            # The same email, delivered at the same moment on another connection, won.
            session.rollback()
            existing = already_received(session, parse(raw).message_key)
            if existing is None:
                raise
            return Outcome(existing.id, existing.status, False)
        except Exception as error:
            session.rollback()
            log.exception("could not place an email; holding it whole")
            return _hold_whole(session, raw, f"{type(error).__name__}: {error}")


def _hold_whole(session: Session, raw: bytes, problem: str) -> Outcome:
    key = message_key(raw, "")
    existing = already_received(session, key)
    if existing is not None:
        return Outcome(existing.id, existing.status, False)
    mail: InboundMail = hold_unreadable(session, raw, key, problem)
    session.commit()
    return Outcome(mail.id, InboundStatus.held, True)


# ---------------------------------------------------------------- a maildir


@dataclass
class MaildirReport:
    placed: int = 0
    held: int = 0
    duplicates: int = 0
    failed: int = 0


def process_maildir(sessions: Sessions, settings: Settings, folder: Path) -> MaildirReport:
    """Every email in `folder/new`, oldest first, each moved to `folder/cur` once stored."""
    report = MaildirReport()
    new, cur = folder / "new", folder / "cur"
    cur.mkdir(parents=True, exist_ok=True)
    names = sorted(
        (entry for entry in os.scandir(new) if entry.is_file() and not entry.name.startswith(".")),
        key=lambda entry: (entry.stat().st_mtime, entry.name),
    )
    for entry in names:
        raw = Path(entry.path).read_bytes()
        try:
            outcome = receive_one(sessions, settings, raw)
        except Exception:
            log.exception("could not store %s; it stays in new/ for the next run", entry.name)
            report.failed += 1
            continue
        Path(entry.path).rename(cur / f"{entry.name.split(':')[0]}:2,S")
        if not outcome.new:
            report.duplicates += 1
        elif outcome.status == InboundStatus.placed:
            report.placed += 1
        else:
            report.held += 1
    return report


# ---------------------------------------------------------------- an SMTP or LMTP listener


class ReplyHandler:
    """An aiosmtpd handler: each email is stored before the sender hears "250"."""

    def __init__(self, sessions: Sessions, settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        # One email at a time: the database work runs in a thread, and SQLite has one writer.
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        recipients = [str(address) for address in envelope.rcpt_tos or []]
        sender = str(envelope.mail_from or "")
        try:
            return await asyncio.to_thread(self._store, raw, recipients, sender)
        except Exception:
            log.exception("could not store an email; asking the sender to try again")
            return "451 4.3.0 Could not store the message now, please try again later"

    def _store(self, raw: bytes, recipients: list[str], sender: str) -> str:
        with self._lock:
            if self._throttled(sender):
                return "451 4.7.1 Too many messages we could not place; please try again later"
            receive_one(self.sessions, self.settings, raw, recipients)
        return "250 2.0.0 Message accepted"

    def _throttled(self, sender: str) -> bool:
        try:
            address = normalised_address(sender).lower()
        except InvalidAddress:
            return False
        with self.sessions() as session:
            held = held_lately(session, address)
        return held >= self.settings.inbound_held_per_sender_per_hour


def controller(
    sessions: Sessions, settings: Settings, host: str, port: int, *, lmtp: bool = False
) -> Any:
    """An aiosmtpd controller (not started) listening on `host:port`."""
    from aiosmtpd.controller import Controller

    handler = ReplyHandler(sessions, settings)
    if lmtp:
        from aiosmtpd.lmtp import LMTP

        class LMTPController(Controller):
            def factory(self) -> LMTP:
                return LMTP(self.handler, data_size_limit=settings.inbound_max_bytes)

        return LMTPController(handler, hostname=host, port=port)
    return Controller(
        handler,
        hostname=host,
        port=port,
        data_size_limit=settings.inbound_max_bytes,
        server_hostname="localhost",
    )


def listen(
    sessions: Sessions, settings: Settings, host: str, port: int, *, lmtp: bool = False
) -> None:
    """Run the listener until SIGTERM or Ctrl-C."""
    server = controller(sessions, settings, host, port, lmtp=lmtp)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
