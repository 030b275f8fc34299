"""The mail outbox against a real SMTP server on loopback (aiosmtpd).

The point being proved: a message is never lost. It is stored with the business change, survives
the SMTP server being down, and is delivered once the server is back.
"""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from portal.config import Settings
from portal.db import now_of
from portal.mail import (
    CLAIM_LEASE,
    ONE_ADDRESS_HINT,
    DeliveryReport,
    InvalidAddress,
    OutboxMessage,
    OutboxStatus,
    _due_query,
    backoff_delay,
    deliver_due,
    mail_to_queue,
    normalised_address,
    outbox_page,
    queue_mail,
    retry_now,
)
from tests.clocks import TEST_NOW

MAIL_FROM = "Brookfield Primary School <office@brookfield-primary.example>"


class Collector:
    """An aiosmtpd handler that keeps every accepted envelope and can refuse chosen recipients."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


class SmtpServer:
    """A loopback SMTP server on a fixed port that a test can start and stop at will."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.handler = Collector()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, server_hostname="localhost"
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def free_port() -> int:
    """A port nobody listens on: bind to port 0, note what the OS chose, release it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_settings(port: int, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_tls": "none",
        "smtp_user": "",
        "smtp_timeout_seconds": 2,
        "mail_from": MAIL_FROM,
        "mail_max_attempts": 8,
        "environment": "test",
        "secret_key": "x" * 40,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Not started: each test decides when the server is up."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


@pytest.fixture
def running_smtp(smtp_server: SmtpServer) -> SmtpServer:
    smtp_server.start()
    return smtp_server


def queue_and_commit(session: Session, to: str = "parent@example.com", **kwargs) -> OutboxMessage:
    values = {"subject": "Your complaint", "body_text": "We have received it."} | kwargs
    message = queue_mail(session, to=to, **values)
    session.commit()
    return message


def reload(session: Session, message: OutboxMessage) -> OutboxMessage:
    session.expire_all()
    fresh = session.get(OutboxMessage, message.id)
    assert fresh is not None
    return fresh


def test_queue_mail_stores_a_queued_message_in_the_callers_transaction(db_session: Session):
    message = queue_mail(
        db_session,
        to="parent@example.com",
        subject="Complaint received",
        body_text="Thank you.",
        related=("complaint", "42"),
    )

    assert message.id is not None  # flushed
    assert message.status == OutboxStatus.queued
    assert message.attempts == 0
    assert (message.related_type, message.related_id) == ("complaint", "42")
    assert message.next_attempt_at <= now_of(db_session)

    db_session.rollback()

    assert db_session.exec(select(OutboxMessage)).all() == []


@pytest.mark.parametrize(
    ("to", "subject"),
    [
        ("parent@example.com\r\nBcc: everyone@example.com", "Hello"),
        ("parent@example.com", "Hello\nBcc: everyone@example.com"),
        ("not-an-address", "Hello"),
        ("parent@example.com", "x" * 301),
    ],
)
def test_queue_mail_refuses_values_that_could_never_be_sent(
    db_session: Session, to: str, subject: str
):
    with pytest.raises(ValueError):
        queue_mail(db_session, to=to, subject=subject, body_text="Hi")


@pytest.mark.parametrize(
    ("to", "subject"),
    [
        ("parent@example.com\r\nBcc: everyone@example.com", "Hello"),
        ("parent@example.com", "Hello\nBcc: everyone@example.com"),
        ("parent@example.com, other@example.com", "Hello"),
    ],
)
def test_a_message_built_before_its_case_is_saved_is_checked_as_a_queued_one(
    db_session: Session, to: str, subject: str
):
    """`mail_to_queue` builds what `queue_mail` saves (a busy path builds it before its first
    write): the same refusals, and nothing is saved until the caller inserts it."""
    with pytest.raises(ValueError):
        mail_to_queue(to=to, subject=subject, body_text="Hi")
    built = mail_to_queue(to=" Parent@Example.COM ", subject="Received", body_text="Thank you.")
    assert (built.id, built.to_address, built.status) == (
        None,
        "Parent@example.com",
        OutboxStatus.queued,
    )
    assert db_session.exec(select(OutboxMessage)).all() == []


NOT_ONE_ADDRESS = [
    "parent@example.com, other@example.com",
    "parent@example.com,other@example.com",
    "parent@example.com; other@example.com",
    "parent@example.com other@example.com",
    "Parent <parent@example.com>",
    "Parent <parent@example.com>, Other <other@example.com>",
    '"parent,other"@example.com',
    "parent@example.com\r\nBcc: everyone@example.com",
    "parent@example.com\nBcc: everyone@example.com",
    "parent@example.com\rBcc: everyone@example.com",
    "parent@example.com\u2028Bcc: everyone@example.com",
    "parent@example.com\x00",
    "parent@@example.com",
    "parent@localhost",
    "@example.com",
    "parent@",
    "",
    "   ",
    "not-an-address",
    "a" * 310 + "@example.com",
]


@pytest.mark.parametrize("text", NOT_ONE_ADDRESS)
def test_normalised_address_refuses_anything_but_one_address(text: str):
    with pytest.raises(InvalidAddress) as refused:
        normalised_address(text)
    assert isinstance(refused.value, ValueError)
    assert str(refused.value) == refused.value.message == ONE_ADDRESS_HINT
    assert ONE_ADDRESS_HINT == "Enter one email address, like name@example.com"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("parent@example.com", "parent@example.com"),
        ("  parent@example.com\t", "parent@example.com"),
        ("Alex.Parent+school@Example.COM", "Alex.Parent+school@example.com"),
        ("head@brookfield-primary.example", "head@brookfield-primary.example"),
        ("zoë@example.com", "zoë@example.com"),
    ],
)
def test_normalised_address_accepts_one_address_and_normalises_it(text: str, expected: str):
    assert normalised_address(text) == expected


@pytest.mark.parametrize("to", NOT_ONE_ADDRESS)
def test_the_outbox_refuses_anything_but_one_address(db_session: Session, to: str):
    with pytest.raises(InvalidAddress):
        queue_mail(db_session, to=to, subject="Hello", body_text="Hi")
    assert db_session.exec(select(OutboxMessage)).all() == []


@pytest.mark.parametrize(
    "subject",
    [
        "Hello\r\nBcc: everyone@example.com",
        "Hello\rBcc: everyone@example.com",
        "Hello\u2028Bcc: everyone@example.com",
        "Hello\x0bthere",
        "Hello\x00",
        "   ",
    ],
)
def test_the_outbox_refuses_line_breaks_and_controls_in_the_subject(
    db_session: Session, subject: str
):
    with pytest.raises(ValueError):
        queue_mail(db_session, to="parent@example.com", subject=subject, body_text="Hi")


def test_a_list_of_addresses_never_reaches_a_second_mailbox(db_session: Session, running_smtp):
    """The old outbox stored "a, b" and the SMTP library sent it to both."""
    with pytest.raises(InvalidAddress):
        queue_and_commit(db_session, to="parent@example.com, stranger@example.com")
    db_session.rollback()
    queue_and_commit(db_session, to=" Parent@Example.com ")
    deliver_due(db_session, make_settings(running_smtp.port))
    [envelope] = running_smtp.handler.envelopes
    assert envelope.rcpt_tos == ["Parent@example.com"]


def test_queue_mail_records_the_case_a_message_is_about(db_session: Session):
    given = queue_mail(
        db_session, to="parent@example.com", subject="s", body_text="b", complaint_id=7
    )
    from_related = queue_mail(
        db_session, to="parent@example.com", subject="s", body_text="b", related=("complaint", "8")
    )
    both = queue_mail(
        db_session,
        to="parent@example.com",
        subject="s",
        body_text="b",
        related=("complaint", "9"),
        complaint_id=9,
    )
    other = queue_mail(
        db_session, to="parent@example.com", subject="s", body_text="b", related=("policy", "3")
    )
    plain = queue_mail(db_session, to="parent@example.com", subject="s", body_text="b")
    assert [m.complaint_id for m in (given, from_related, both, other, plain)] == [
        7,
        8,
        9,
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("complaint_id", "related"),
    [(0, None), (-1, None), (True, None), ("7", None), (2**31, None), (7, ("complaint", "8"))],
)
def test_queue_mail_refuses_a_case_that_cannot_be_right(db_session: Session, complaint_id, related):
    with pytest.raises(ValueError):
        queue_mail(
            db_session,
            to="parent@example.com",
            subject="s",
            body_text="b",
            complaint_id=complaint_id,
            related=related,
        )


def test_queued_message_is_delivered_and_marked_sent(db_session: Session, running_smtp):
    message = queue_and_commit(
        db_session,
        to="parent@example.com",
        subject="Complaint received — ref 42",
        body_text="Dear parent,\n\nWe have received your complaint. £0 to pay.\n",
        body_html="<p>Dear parent,</p><p>We have received your complaint.</p>",
        related=("complaint", "42"),
    )

    report = deliver_due(db_session, make_settings(running_smtp.port))

    assert report == DeliveryReport(sent=1, retried=0, failed=0)
    stored = reload(db_session, message)
    assert stored.status == OutboxStatus.sent
    assert stored.sent_at is not None
    assert stored.attempts == 1
    assert stored.last_error is None

    [envelope] = running_smtp.handler.envelopes
    assert envelope.mail_from == "office@brookfield-primary.example"
    assert envelope.rcpt_tos == ["parent@example.com"]
    [email] = running_smtp.handler.messages()
    assert email["To"] == "parent@example.com"
    assert email["From"] == MAIL_FROM
    assert email["Subject"] == "Complaint received — ref 42"
    assert email["Date"]
    assert email["Message-ID"].endswith("@brookfield-primary.example>")
    text = email.get_body(preferencelist=("plain",))
    html = email.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "We have received your complaint. £0 to pay." in text.get_content()
    assert "<p>We have received your complaint.</p>" in html.get_content()


def test_text_only_message_has_no_html_part(db_session: Session, running_smtp):
    queue_and_commit(db_session, body_text="Plain only.")

    deliver_due(db_session, make_settings(running_smtp.port))

    [email] = running_smtp.handler.messages()
    assert not email.is_multipart()
    assert email.get_content().strip() == "Plain only."


def test_message_queued_while_server_is_down_is_delivered_once_it_is_back(
    db_session: Session, smtp_server
):
    settings = make_settings(smtp_server.port)  # nothing listens on this port yet
    message = queue_and_commit(db_session, subject="Sent while the server was down")
    t0 = now_of(db_session)

    report = deliver_due(db_session, settings, now=t0)

    assert report == DeliveryReport(sent=0, retried=1, failed=0)
    stored = reload(db_session, message)
    assert stored.status == OutboxStatus.queued
    assert stored.attempts == 1
    assert stored.last_error  # e.g. "ConnectionRefusedError: [Errno 111] Connection refused"
    assert stored.next_attempt_at == t0 + timedelta(seconds=60)

    # Not due again until the backoff has passed, even with the server back.
    smtp_server.start()
    assert deliver_due(db_session, settings, now=t0 + timedelta(seconds=30)) == DeliveryReport()
    assert smtp_server.handler.envelopes == []

    report = deliver_due(db_session, settings, now=t0 + timedelta(seconds=61))

    assert report == DeliveryReport(sent=1, retried=0, failed=0)
    stored = reload(db_session, message)
    assert stored.status == OutboxStatus.sent
    assert stored.attempts == 2
    assert stored.last_error is None
    [email] = smtp_server.handler.messages()
    assert email["Subject"] == "Sent while the server was down"


def test_server_down_costs_every_due_message_one_attempt(db_session: Session, smtp_server):
    due = [queue_and_commit(db_session, to=f"parent{i}@example.com") for i in range(3)]
    later = queue_and_commit(db_session, to="later@example.com")
    later.next_attempt_at = now_of(db_session) + timedelta(hours=1)
    db_session.add(later)
    db_session.commit()

    report = deliver_due(db_session, make_settings(smtp_server.port))

    assert report == DeliveryReport(sent=0, retried=3, failed=0)
    for message in due:
        stored = reload(db_session, message)
        assert (stored.status, stored.attempts) == (OutboxStatus.queued, 1)
        assert stored.last_error
    assert reload(db_session, later).attempts == 0


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(1, 60), (2, 120), (3, 240), (4, 480), (5, 960), (6, 1920), (7, 3600), (8, 3600), (50, 3600)],
)
def test_backoff_doubles_from_a_minute_and_caps_at_an_hour(attempts: int, seconds: int):
    assert backoff_delay(attempts) == timedelta(seconds=seconds)


def test_repeated_failures_back_off_then_fail_and_retry_now_requeues(
    db_session: Session, smtp_server
):
    settings = make_settings(smtp_server.port, mail_max_attempts=8)
    message = queue_and_commit(db_session)
    now = now_of(db_session)
    delays: list[int] = []

    for attempt in range(1, 8):
        report = deliver_due(db_session, settings, now=now)
        assert report == DeliveryReport(retried=1)
        stored = reload(db_session, message)
        assert (stored.status, stored.attempts) == (OutboxStatus.queued, attempt)
        delays.append(int((stored.next_attempt_at - now).total_seconds()))
        now = stored.next_attempt_at

    assert delays == [60, 120, 240, 480, 960, 1920, 3600]

    report = deliver_due(db_session, settings, now=now)

    assert report == DeliveryReport(failed=1)
    stored = reload(db_session, message)
    assert (stored.status, stored.attempts) == (OutboxStatus.failed, 8)
    assert stored.last_error
    # A failed message is left alone, however late it gets.
    assert deliver_due(db_session, settings, now=now + timedelta(days=30)) == DeliveryReport()

    retry_now(db_session, stored.id)
    db_session.commit()

    stored = reload(db_session, message)
    assert stored.status == OutboxStatus.queued
    assert stored.next_attempt_at <= now_of(db_session)
    smtp_server.start()
    assert deliver_due(db_session, settings) == DeliveryReport(sent=1)
    assert reload(db_session, message).status == OutboxStatus.sent
    assert len(smtp_server.handler.envelopes) == 1


def test_failed_message_retried_by_hand_fails_again_after_one_more_try(
    db_session: Session, smtp_server
):
    settings = make_settings(smtp_server.port, mail_max_attempts=1)
    message = queue_and_commit(db_session)
    assert deliver_due(db_session, settings) == DeliveryReport(failed=1)

    retry_now(db_session, message.id)
    db_session.commit()

    assert deliver_due(db_session, settings) == DeliveryReport(failed=1)
    stored = reload(db_session, message)
    assert (stored.status, stored.attempts) == (OutboxStatus.failed, 2)


def test_retry_now_moves_a_waiting_message_forward(db_session: Session):
    message = queue_and_commit(db_session)
    message.next_attempt_at = now_of(db_session) + timedelta(hours=1)
    db_session.add(message)
    db_session.commit()

    retry_now(db_session, message.id)
    db_session.commit()

    assert reload(db_session, message).next_attempt_at <= now_of(db_session)


def test_retry_now_refuses_sent_and_unknown_messages(db_session: Session, running_smtp):
    message = queue_and_commit(db_session)
    deliver_due(db_session, make_settings(running_smtp.port))

    with pytest.raises(ValueError):
        retry_now(db_session, message.id)
    with pytest.raises(LookupError):
        retry_now(db_session, 999_999)
    assert len(running_smtp.handler.envelopes) == 1


def test_nothing_is_sent_when_smtp_is_not_configured(db_session: Session, running_smtp):
    message = queue_and_commit(db_session)
    settings = make_settings(running_smtp.port, smtp_host="")
    assert not settings.smtp_configured

    assert deliver_due(db_session, settings) == DeliveryReport(sent=0, retried=0, failed=0)

    stored = reload(db_session, message)
    assert (stored.status, stored.attempts, stored.last_error) == (OutboxStatus.queued, 0, None)
    assert running_smtp.handler.envelopes == []


def test_a_refused_recipient_does_not_stop_the_rest_of_the_batch(db_session: Session, running_smtp):
    running_smtp.handler.refused.add("gone@example.com")
    first = queue_and_commit(db_session, to="first@example.com")
    gone = queue_and_commit(db_session, to="gone@example.com")
    last = queue_and_commit(db_session, to="last@example.com")

    report = deliver_due(db_session, make_settings(running_smtp.port))

    assert report == DeliveryReport(sent=2, retried=1, failed=0)
    assert reload(db_session, first).status == OutboxStatus.sent
    assert reload(db_session, last).status == OutboxStatus.sent
    refused = reload(db_session, gone)
    assert (refused.status, refused.attempts) == (OutboxStatus.queued, 1)
    assert "550" in (refused.last_error or "")
    assert [e.rcpt_tos for e in running_smtp.handler.envelopes] == [
        ["first@example.com"],
        ["last@example.com"],
    ]


def test_due_messages_go_oldest_first_up_to_the_limit(db_session: Session, running_smtp):
    now = now_of(db_session)
    for minutes, to in [(3, "c@example.com"), (1, "a@example.com"), (2, "b@example.com")]:
        message = queue_and_commit(db_session, to=to)
        message.next_attempt_at = now - timedelta(minutes=10 - minutes)
        db_session.add(message)
    db_session.commit()

    assert deliver_due(db_session, make_settings(running_smtp.port), limit=2) == DeliveryReport(
        sent=2
    )

    assert [e.rcpt_tos for e in running_smtp.handler.envelopes] == [
        ["a@example.com"],
        ["b@example.com"],
    ]


def test_a_crash_mid_batch_never_resends_what_was_already_sent(
    db_session: Session, running_smtp, monkeypatch: pytest.MonkeyPatch
):
    first = queue_and_commit(db_session, to="first@example.com")
    second = queue_and_commit(db_session, to="second@example.com")
    real_send = smtplib.SMTP.send_message
    calls = 0

    def send_then_crash(self, msg, *args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt  # the worker is killed mid-batch
        return real_send(self, msg, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "send_message", send_then_crash)
    settings = make_settings(running_smtp.port)
    with pytest.raises(KeyboardInterrupt):
        deliver_due(db_session, settings)
    db_session.rollback()

    assert reload(db_session, first).status == OutboxStatus.sent
    assert (reload(db_session, second).status, reload(db_session, second).attempts) == (
        OutboxStatus.queued,
        0,
    )

    monkeypatch.setattr(smtplib.SMTP, "send_message", real_send)
    assert deliver_due(db_session, settings) == DeliveryReport()  # still claimed by the dead one
    after_lease = now_of(db_session) + CLAIM_LEASE
    assert deliver_due(db_session, settings, now=after_lease) == DeliveryReport(sent=1)
    assert [e.rcpt_tos for e in running_smtp.handler.envelopes] == [
        ["first@example.com"],
        ["second@example.com"],
    ]


def test_due_query_locks_rows_on_postgresql_and_still_works_on_sqlite():
    query = _due_query(TEST_NOW, [1, 2])

    assert "FOR UPDATE SKIP LOCKED" in str(query.compile(dialect=postgresql.dialect()))
    assert "FOR UPDATE" not in str(query.compile(dialect=sqlite.dialect()))


def test_outbox_page_is_newest_first_with_keyset_paging_and_a_status_filter(
    db_session: Session,
):
    messages = [queue_and_commit(db_session, to=f"p{i}@example.com") for i in range(5)]
    messages[1].status = OutboxStatus.failed
    messages[3].status = OutboxStatus.failed
    for message in messages:
        db_session.add(message)
    db_session.commit()
    ids = [m.id for m in messages]

    first_page = outbox_page(db_session, limit=2)
    assert [m.id for m in first_page] == [ids[4], ids[3]]
    second_page = outbox_page(db_session, limit=2, before_id=first_page[-1].id)
    assert [m.id for m in second_page] == [ids[2], ids[1]]
    assert [m.id for m in outbox_page(db_session, status="failed")] == [ids[3], ids[1]]
    assert [m.id for m in outbox_page(db_session, status="queued", before_id=ids[2])] == [ids[0]]
    with pytest.raises(ValueError):
        outbox_page(db_session, status="bogus")


@pytest.mark.parametrize(
    ("overrides", "error_fragment"),
    [
        ({"smtp_tls": "starttls"}, "STARTTLS"),
        ({"smtp_user": "school", "smtp_password": "pw"}, "AUTH"),
    ],
)
def test_a_tls_or_login_failure_counts_as_a_failed_attempt(
    db_session: Session, running_smtp, overrides: dict[str, str], error_fragment: str
):
    # The loopback server offers neither STARTTLS nor AUTH, so setting up the session fails.
    message = queue_and_commit(db_session)

    report = deliver_due(db_session, make_settings(running_smtp.port, **overrides))

    assert report == DeliveryReport(retried=1)
    stored = reload(db_session, message)
    assert (stored.status, stored.attempts) == (OutboxStatus.queued, 1)
    assert error_fragment in (stored.last_error or "")
    assert running_smtp.handler.envelopes == []


def test_a_server_that_never_answers_times_out_and_counts_as_a_failed_attempt(
    db_session: Session,
):
    message = queue_and_commit(db_session)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts the TCP connection but never sends a greeting
        settings = make_settings(silent.getsockname()[1], smtp_timeout_seconds=0.3)

        report = deliver_due(db_session, settings)

    assert report == DeliveryReport(retried=1)
    stored = reload(db_session, message)
    assert stored.attempts == 1
    assert "timed out" in (stored.last_error or "")
