"""Parents' email replies (`portal receive-mail`): placed on their case, or held for office.

A real aiosmtpd listener on a free port takes mail sent with smtplib; the maildir mode reads
files; the rules are tried through the service; office's page is tried through HTTP.
"""

from __future__ import annotations

import smtplib
import socket
import threading
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.complaints.inbound import controller, process_maildir, receive_one
from portal.complaints.inbound_mail import case_token, reply_address
from portal.complaints.models import (
    About,
    Attachment,
    Complaint,
    ComplaintMessage,
    InboundMail,
    InboundReason,
    InboundStatus,
    MessageKind,
)
from portal.complaints.services.inbound import receive
from portal.complaints.timeline import Tag
from portal.history import HistoryEvent
from portal.mail import OutboxMessage, _build_email
from tests.factories import make_case, make_user, sign_in
from tests.factories.complaints import PDF_BYTES
from tests.pages import csrf_of, page

REPLY = "reply@brookfield-primary.example"
PARENT = "alex.parent@example.com"


@pytest.fixture(autouse=True)
def _reply_address(settings, tmp_path):
    settings.reply_address = REPLY
    settings.attachments_dir = tmp_path / "attachments"


def address_of(settings, case: Complaint) -> str:
    return reply_address(settings.reply_address, case_token(settings.secret_key, case.id))


def an_email(
    to: str,
    *,
    sender: str = PARENT,
    body: str = "Thank you. Sam was upset again today.",
    subject: str = "Re: Your concern",
    message_id: str | None = None,
    files: tuple[tuple[str, bytes, str], ...] = (),
) -> bytes:
    email = EmailMessage()
    email["From"] = f"Alex Parent <{sender}>"
    email["To"] = to
    email["Subject"] = subject
    email["Message-ID"] = message_id or f"<{abs(hash((to, sender, body, subject)))}@example.com>"
    email.set_content(body)
    for name, content, kind in files:
        maintype, subtype = kind.split("/")
        email.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return email.as_bytes()


QUOTED = """Yes, Tuesday at 3pm suits me.

Alex
--
Alex Parent
Sent from my phone

On Wed, 25 Nov 2026 at 09:00, Brookfield Primary School <office@brookfield-primary.example> wrote:
> Dear Alex Parent,
> We have looked into your concern.
"""


def replies(db_session, case: Complaint) -> list[ComplaintMessage]:
    db_session.expire_all()
    return list(
        db_session.scalars(
            select(ComplaintMessage)
            .where(
                ComplaintMessage.complaint_id == case.id,
                ComplaintMessage.kind == MessageKind.parent_reply,
            )
            .order_by(ComplaintMessage.id)
        )
    )


def tags(db_session, case: Complaint) -> list[str]:
    return list(
        db_session.scalars(
            select(HistoryEvent.tag).where(
                HistoryEvent.subject_type == "complaint", HistoryEvent.subject_id == str(case.id)
            )
        )
    )


# ---------------------------------------------------------------- the reply address


def test_emails_to_the_parent_carry_the_case_reply_address_not_its_private_link(
    db_session, settings, cast
):
    case = make_case(db_session, settings, cast, "open")
    sent = db_session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == PARENT)).all()
    assert sent
    assert {message.reply_to for message in sent} == {address_of(settings, case)}
    header = _build_email(sent[0], settings, sent[0].created_at)["Reply-To"]
    assert header == address_of(settings, case)
    assert header.startswith("reply+") and header.endswith("@brookfield-primary.example")
    assert case.access_token_hash not in header
    staff_mail = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address != PARENT)
    ).all()
    assert all(message.reply_to is None for message in staff_mail)


def test_no_reply_address_setting_means_no_reply_to(db_session, settings, cast):
    settings.reply_address = ""
    make_case(db_session, settings, cast, "open")
    assert all(message.reply_to is None for message in db_session.scalars(select(OutboxMessage)))


# ---------------------------------------------------------------- a real SMTP listener


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.committed
def test_a_reply_sent_over_smtp_lands_on_its_case_without_the_quote_or_signature(
    app, db_session, settings, cast
):
    case = make_case(db_session, settings, cast, "open")
    port = free_port()
    server = controller(app.state.sessions, settings, "127.0.0.1", port)
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            refused = smtp.sendmail(
                PARENT,
                [address_of(settings, case)],
                an_email(address_of(settings, case), body=QUOTED),
            )
    finally:
        server.stop()
    assert refused == {}
    [reply] = replies(db_session, case)
    assert reply.body == "Yes, Tuesday at 3pm suits me.\n\nAlex"
    assert reply.author_label == "Alex Parent (by email)"
    assert Tag.email_placed in tags(db_session, case)
    mail = db_session.scalars(select(InboundMail)).one()
    assert (mail.status, mail.message_id, mail.raw) == (InboundStatus.placed, reply.id, None)
    handler = db_session.get(type(cast.head), case.handler_user_id)
    told = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == handler.email)
    ).all()
    assert any("replied" in message.subject.lower() for message in told)


@pytest.mark.committed
def test_the_listener_holds_what_it_cannot_place_and_says_so_to_nobody(
    app, db_session, settings, cast
):
    port = free_port()
    server = controller(app.state.sessions, settings, "127.0.0.1", port)
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.sendmail(PARENT, ["office@brookfield-primary.example"], an_email("office@x.org"))
    finally:
        server.stop()
    mail = db_session.scalars(select(InboundMail)).one()
    assert (mail.status, mail.reason) == (InboundStatus.held, InboundReason.not_a_reply)
    assert mail.raw and b"Sam was upset" in mail.raw


@pytest.mark.committed
def test_the_same_email_delivered_twice_at_once_is_stored_once(app, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    raw = an_email(address_of(settings, case), message_id="<once@example.com>")
    barrier = threading.Barrier(4)
    outcomes = []

    def deliver() -> None:
        barrier.wait()
        outcomes.append(receive_one(app.state.sessions, settings, raw))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 4
    assert sum(outcome.new for outcome in outcomes) == 1
    assert len(replies(db_session, case)) == 1
    assert len(db_session.scalars(select(InboundMail)).all()) == 1


# ---------------------------------------------------------------- a maildir


def test_maildir_places_new_emails_and_moves_them_to_cur(app, db_session, settings, cast, tmp_path):
    case = make_case(db_session, settings, cast, "open")
    folder = tmp_path / "Maildir"
    for name in ("new", "cur", "tmp"):
        (folder / name).mkdir(parents=True)
    (folder / "new" / "1.reply").write_bytes(an_email(address_of(settings, case)))
    (folder / "new" / "2.stranger").write_bytes(an_email("someone@example.org", body="Hello"))
    report = process_maildir(app.state.sessions, settings, folder)
    assert (report.placed, report.held, report.duplicates, report.failed) == (1, 1, 0, 0)
    assert list((folder / "new").iterdir()) == []
    assert sorted(path.name for path in (folder / "cur").iterdir()) == [
        "1.reply:2,S",
        "2.stranger:2,S",
    ]
    assert len(replies(db_session, case)) == 1
    (folder / "new" / "3.again").write_bytes(an_email(address_of(settings, case)))
    again = process_maildir(app.state.sessions, settings, folder)
    assert (again.placed, again.duplicates) == (0, 1)
    assert len(replies(db_session, case)) == 1


# ---------------------------------------------------------------- the rules


def test_files_pass_the_upload_checks_and_a_refused_one_is_noted(db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    raw = an_email(
        address_of(settings, case),
        files=(
            ("letter.pdf", PDF_BYTES, "application/pdf"),
            ("virus.exe", b"MZ\x90\x00 not a document", "application/octet-stream"),
        ),
    )
    mail, new = receive(db_session, settings, raw)
    assert new and mail.status == InboundStatus.placed
    [reply] = replies(db_session, case)
    files = db_session.scalars(select(Attachment).where(Attachment.message_id == reply.id)).all()
    assert [file.filename for file in files] == ["letter.pdf"]
    assert "Files not added from this email" in reply.body
    assert "virus.exe must be a PDF, JPG, PNG or Word (.docx) file" in reply.body


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"sender": "someone.else@example.com"}, InboundReason.wrong_sender),
        ({"to": "reply+1-0000000000000000deadbeef@brookfield-primary.example"}, "unknown"),
        ({"to": "office@brookfield-primary.example"}, InboundReason.not_a_reply),
        ({"body": "On Wed, 25 Nov 2026, School wrote:\n> the quote\n"}, InboundReason.empty),
    ],
)
def test_what_cannot_be_placed_is_held_whole_with_its_reason(
    db_session, settings, cast, change, reason
):
    case = make_case(db_session, settings, cast, "open")
    to = change.pop("to", address_of(settings, case))
    raw = an_email(to, **change)
    mail, _new = receive(db_session, settings, raw)
    expected = InboundReason.unknown_address if reason == "unknown" else reason
    assert (mail.status, mail.reason, mail.raw) == (InboundStatus.held, expected, raw)
    assert replies(db_session, case) == []


def test_a_reply_to_a_closed_case_is_held(db_session, settings, cast):
    case = make_case(db_session, settings, cast, "closed")
    mail, _new = receive(db_session, settings, an_email(address_of(settings, case)))
    assert (mail.status, mail.reason, mail.complaint_id) == (
        InboundStatus.held,
        InboundReason.closed,
        case.id,
    )
    assert Tag.email_held in tags(db_session, case)


def test_html_only_and_too_big_are_held(db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    html = EmailMessage()
    html["From"] = PARENT
    html["To"] = address_of(settings, case)
    html["Message-ID"] = "<html@example.com>"
    html.set_content("<p>Hello</p>", subtype="html")
    mail, _ = receive(db_session, settings, html.as_bytes())
    assert mail.reason == InboundReason.not_text
    settings.inbound_max_bytes = 100
    mail, _ = receive(db_session, settings, an_email(address_of(settings, case)))
    assert mail.reason == InboundReason.too_big


def test_more_replies_than_a_day_allows_are_held_not_lost(db_session, settings, cast):
    settings.replies_per_case_per_day = 1
    case = make_case(db_session, settings, cast, "open")
    first, _ = receive(db_session, settings, an_email(address_of(settings, case), body="One."))
    second, _ = receive(db_session, settings, an_email(address_of(settings, case), body="Two."))
    assert first.status == InboundStatus.placed
    assert (second.status, second.reason) == (InboundStatus.held, InboundReason.refused)
    assert "replies on this case in the last 24 hours" in second.reason_detail


HOSTILE = [
    b"From: =?utf-8?b?" + b"QQ==" * 5000 + b"?= <alex.parent@example.com>\r\n"
    b"Subject: =?x-unknown?q?=FF=FE?= " + b"A" * 100_000 + b"\r\n"
    b"Message-ID: <hostile-1@example.com>\r\n"
    b"Content-Type: text/plain; charset=nonsense-8\r\n\r\n\xff\xfe\x00body\x00\r\n",
    b"From: \xff\xfe\r\nTo: reply+\xff@brookfield-primary.example\r\n"
    b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n\r\n",
    b"\x00\x01\x02 not an email at all",
    b"From: a@b.c\r\nSubject: =?utf-8?q?\xe2\x80\xae_reversed?=\r\n"
    b"Content-Type: text/plain; charset=latin-1\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!",
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_emails_never_crash_and_are_kept(app, db_session, settings, raw):
    outcome = receive_one(app.state.sessions, settings, raw)
    assert outcome.new
    mail = db_session.get(InboundMail, outcome.mail_id)
    assert mail.status == InboundStatus.held
    assert mail.raw == raw
    assert len(mail.subject) <= 300
    assert "\x00" not in mail.subject and "\u202e" not in mail.subject


# ---------------------------------------------------------------- office's page


def held_from(db_session, settings, case, **change) -> InboundMail:
    mail, _new = receive(db_session, settings, an_email(address_of(settings, case), **change))
    db_session.commit()
    return mail


def test_office_reads_a_held_email_and_puts_it_on_a_case(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    mail = held_from(db_session, settings, case, sender="grandad@example.com", body=QUOTED)
    sign_in(client, cast.office)
    listing = client.get("/staff/complaints/emails")
    assert listing.status_code == 200
    assert page(listing).select_one("h1").text.strip() == "Emails we could not place"
    assert "Not sent from the parent's email address" in page(listing).text
    one = client.get(f"/staff/complaints/emails/{mail.id}")
    assert "Yes, Tuesday at 3pm suits me." in page(one).select_one(".govuk-inset-text").text
    response = client.post(
        f"/staff/complaints/emails/{mail.id}/attach",
        data={"reference": case.reference, "csrf_token": csrf_of(one)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    [reply] = replies(db_session, case)
    assert reply.body.startswith("Yes, Tuesday at 3pm suits me.")
    assert reply.author_label == "grandad@example.com (by email, added by Janet Okafor)"
    assert Tag.email_attached in tags(db_session, case)
    assert "There are no emails waiting" in client.get("/staff/complaints/emails").text


def test_office_sets_an_email_aside_with_a_reason(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    mail = held_from(db_session, settings, case, sender="spam@example.net")
    sign_in(client, cast.office)
    one = client.get(f"/staff/complaints/emails/{mail.id}")
    url = f"/staff/complaints/emails/{mail.id}/set-aside"
    refused = client.post(url, data={"set_aside_reason": "", "csrf_token": csrf_of(one)})
    assert refused.status_code == 422
    assert (
        "Say why this email belongs on no case"
        in page(refused).select_one(".govuk-error-summary").text
    )
    done = client.post(
        url,
        data={"set_aside_reason": "Junk mail", "csrf_token": csrf_of(one)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    db_session.expire_all()
    kept = db_session.get(InboundMail, mail.id)
    assert (kept.status, kept.decision_note) == (InboundStatus.set_aside, "Junk mail")
    assert kept.raw is not None


def test_the_person_a_case_is_about_can_neither_see_its_held_email_nor_attach_to_it(
    client, db_session, settings, cast
):
    about_office = make_case(
        db_session, settings, cast, "open", about=About.staff, about_user=cast.office
    )
    named = held_from(db_session, settings, about_office, sender="other@example.com")
    loose = held_from(db_session, settings, about_office, sender="x@example.com")
    loose.complaint_id = None  # as if it had named no case
    db_session.add(loose)
    from sqlalchemy import delete

    from portal.complaints.models import InboundMailCase

    db_session.execute(delete(InboundMailCase).where(InboundMailCase.mail_id == loose.id))
    db_session.commit()
    sign_in(client, cast.office)
    listing = client.get("/staff/complaints/emails")
    assert f"/staff/complaints/emails/{named.id}" not in listing.text
    assert client.get(f"/staff/complaints/emails/{named.id}").status_code == 404
    one = client.get(f"/staff/complaints/emails/{loose.id}")
    refused = client.post(
        f"/staff/complaints/emails/{loose.id}/attach",
        data={"reference": about_office.reference, "csrf_token": csrf_of(one)},
    )
    assert refused.status_code == 422
    assert "Enter the reference of a case you can see" in refused.text
    assert replies(db_session, about_office) == []
    db_session.expire_all()
    assert db_session.get(InboundMail, loose.id).status == InboundStatus.held


def test_only_people_who_sort_cases_use_the_page(client, db_session, cast):
    sign_in(client, cast.head)
    assert client.get("/staff/complaints/emails").status_code == 403
    client.cookies.clear()
    sign_in(client, make_user(db_session, Role.admin, name="Priya Shah"))
    assert client.get("/staff/complaints/emails").status_code == 403


def test_a_hostile_reference_gets_a_clear_message(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    mail = held_from(db_session, settings, case, sender="other@example.com")
    sign_in(client, cast.office)
    one = client.get(f"/staff/complaints/emails/{mail.id}")
    for reference in ("C-" + "9" * 5000, "\u202eC-ABC\x00", ""):
        response = client.post(
            f"/staff/complaints/emails/{mail.id}/attach",
            data={"reference": reference, "csrf_token": csrf_of(one)},
        )
        assert response.status_code == 422
        assert "Enter the reference of a case you can see" in response.text
    assert client.get("/staff/complaints/emails/99999999999999999999").status_code == 404


def test_the_staff_home_says_when_emails_are_waiting(client, db_session, settings, cast):
    sign_in(client, cast.office)
    assert "Emails we could not place" not in client.get("/staff").text
    case = make_case(db_session, settings, cast, "open")
    held_from(db_session, settings, case, sender="other@example.com")
    home = page(client.get("/staff"))
    assert "1 email from a parent is waiting" in home.text
    assert home.select_one("a[href='/staff/complaints/emails']") is not None
    client.cookies.clear()
    sign_in(client, cast.head)
    assert "Emails we could not place" not in client.get("/staff").text


def test_the_demo_has_a_reply_by_email_and_a_held_email(db_session, settings):
    from portal.demo import load_demo

    load_demo(db_session, settings)
    mails = db_session.scalars(select(InboundMail).order_by(InboundMail.id)).all()
    assert [mail.status for mail in mails] == [InboundStatus.placed, InboundStatus.held]
    placed = db_session.get(ComplaintMessage, mails[0].message_id)
    assert placed.author_label.endswith("(by email)")
    assert placed.body == "Thank you. The books came home marked today.\n\nNadia"


@pytest.mark.committed
def test_the_listener_speaks_lmtp_too(app, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    port = free_port()
    server = controller(app.state.sessions, settings, "127.0.0.1", port, lmtp=True)
    server.start()
    try:
        with smtplib.LMTP("127.0.0.1", port) as lmtp:
            refused = lmtp.sendmail(
                PARENT, [address_of(settings, case)], an_email(address_of(settings, case))
            )
    finally:
        server.stop()
    assert refused == {}
    assert len(replies(db_session, case)) == 1


@pytest.mark.committed
def test_the_command_reads_a_maildir(app, db_session, settings, cast, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from portal import cli as cli_module
    from portal.config import get_settings
    from tests.clocks import fixed_test_clock

    case = make_case(db_session, settings, cast, "open")
    folder = tmp_path / "Maildir"
    for name in ("new", "cur", "tmp"):
        (folder / name).mkdir(parents=True)
    (folder / "new" / "1").write_bytes(an_email(address_of(settings, case)))
    monkeypatch.setattr(cli_module, "CLOCK", fixed_test_clock())
    for name, value in {
        "PORTAL_DATABASE_URL": settings.database_url,
        "PORTAL_SECRET_KEY": settings.secret_key,
        "PORTAL_REPLY_ADDRESS": REPLY,
        "PORTAL_ATTACHMENTS_DIR": str(tmp_path / "files"),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_module.app, ["receive-mail", "--maildir", str(folder)])
        neither = CliRunner().invoke(cli_module.app, ["receive-mail"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "placed 1, held for office 0" in result.output
    assert neither.exit_code == 2
    assert len(replies(db_session, case)) == 1


@pytest.mark.committed
def test_the_listener_refuses_too_big_and_slows_a_flood_without_losing_anything(
    app, db_session, settings, cast
):
    settings.inbound_max_bytes = 2000
    settings.inbound_held_per_sender_per_hour = 2
    port = free_port()
    server = controller(app.state.sessions, settings, "127.0.0.1", port)
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            with pytest.raises(smtplib.SMTPSenderRefused) as too_big:  # SIZE, said up front
                smtp.sendmail(PARENT, [REPLY], an_email(REPLY, body="x" * 5000))
            assert too_big.value.smtp_code == 552
        codes = []
        for number in range(3):
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                try:
                    smtp.sendmail(PARENT, [REPLY], an_email(REPLY, body=f"Flood {number}"))
                    codes.append(250)
                except smtplib.SMTPDataError as error:
                    codes.append(error.smtp_code)
    finally:
        server.stop()
    assert codes == [250, 250, 451]
    assert len(db_session.scalars(select(InboundMail)).all()) == 2


@pytest.mark.committed
def test_two_people_deciding_one_held_email_at_once_one_wins(app, db_session, settings, cast):
    from fastapi.testclient import TestClient

    chair_case = make_case(db_session, settings, cast, "open")
    mail, _new = receive(
        db_session, settings, an_email(address_of(settings, chair_case), sender="x@example.com")
    )
    db_session.commit()
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(2)]
    tokens = []
    for client, person in zip(clients, (cast.office, cast.chair), strict=True):
        sign_in(client, person)
        tokens.append(csrf_of(client.get(f"/staff/complaints/emails/{mail.id}")))
    barrier = threading.Barrier(2)
    codes: list[int] = [0, 0]

    def decide(i: int) -> None:
        barrier.wait()
        codes[i] = (
            clients[i]
            .post(
                f"/staff/complaints/emails/{mail.id}/attach",
                data={"reference": chair_case.reference, "csrf_token": tokens[i]},
                follow_redirects=False,
            )
            .status_code
        )

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(code in (303, 404) for code in codes), codes
    assert len(replies(db_session, chair_case)) == 1
    assert db_session.get(InboundMail, mail.id).status == InboundStatus.attached
