"""The wording of emails and letters: defaults, a school's overrides, the sandbox, the pages."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func
from sqlmodel import select

from portal.accounts.models import Role
from portal.complaints import services as complaints
from portal.complaints.models import ComplaintMessage, MessageKind
from portal.history import Actor, HistoryEvent
from portal.mail import SECRET_PLACEHOLDER, OutboxMessage
from portal.school.models import SchoolProfile
from portal.school.services import school_of, snapshot
from portal.wording import services
from portal.wording.catalogue import CATALOGUE, SAMPLE_CASE, wording_for
from portal.wording.models import WordingOverride
from portal.wording.rendering import WordingProblem, default_text
from tests.conftest import csrf_of, page, text_of
from tests.factories import answers, make_case, make_cast, make_user, sign_in

SECRET = "wording-test-secret-key-0123456789abcdef"
HOSTILE = [
    "{{ settings }}",
    "{{ school.__class__.__init__.__globals__ }}",
    "{{ case.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ request.app.state.settings.secret_key }}",
    "{{ case|attr('__class__') }}",
    "{{ school.procedure('admissions') }}",
    "{{ lipsum.__globals__ }}",
    "{{ range(10) }}",
    "{{ 'x' * 100000000 }}",
]


@pytest.fixture
def admin(db_session):
    return make_user(db_session, Role.admin, name="Priya Shah")


def _override_count(db_session) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(WordingOverride))


def test_every_email_and_letter_has_a_default_that_passes_its_own_checks(school):
    assert len([w for w in CATALOGUE if w.is_email]) == 45
    assert {"stage1-letter", "panel-outcome-letter"} <= {w.key for w in CATALOGUE}
    for wording in CATALOGUE:
        text = default_text(wording)
        shown = services.preview(wording, school, text.subject, text.body)
        assert shown.body, wording.key
        assert "{{" not in shown.body and "{%" not in shown.body, wording.key
        assert all(description for description in wording.variables.values())
        if wording.is_email:
            assert shown.subject and "\n" not in shown.subject, wording.key


def test_a_default_is_read_once_and_again_when_its_file_changes(monkeypatch):
    from portal.wording import rendering

    wording = wording_for("complaint-received")
    first = default_text(wording)
    assert default_text(wording) is first  # kept: the file has not changed
    changed = rendering.DefaultText(subject="Stale", body="Stale")
    monkeypatch.setitem(rendering._DEFAULT_TEXTS, wording.template_name, (changed, lambda: False))
    assert default_text(wording) == first  # the file "changed": read again, not the stale copy


def test_the_default_received_email_says_what_happens_next_and_by_when(school, db_session):
    shown = services.render(
        db_session,
        "complaint-received",
        {
            "case": SAMPLE_CASE,
            "recipient_name": "Jordan Ellison",
            "private_link": "LINK",
            "response_by": "by Wednesday 16 December 2026",
        },
    )
    assert shown.subject == "We have received your complaint (C-7K4P-2QX)"
    assert shown.body == (
        "Dear Jordan Ellison,\n\n"
        f"Thank you for contacting {school.name}. We have received your complaint and its "
        "reference is C-7K4P-2QX.\n\n"
        "We will contact you by Monday 7 December 2026 to say who is looking into it. You "
        "should have our full reply by Wednesday 16 December 2026.\n\n"
        "To check your complaint, reply to us or withdraw it at any time, use your private "
        "link:\nLINK\n\n"
        "Keep this link private: anyone with it can see your case.\n\n"
        'You can also choose "Check your concern or complaint" on the school\'s parent portal, '
        "then enter your reference and this email address."
    )


@pytest.mark.parametrize("attempt", HOSTILE)
def test_an_override_that_reaches_for_secrets_is_refused_at_save(school, db_session, attempt):
    wording = wording_for("complaint-received")
    body = f"Hello\n{attempt}\n{{{{ private_link }}}}\n"
    with pytest.raises(WordingProblem) as refused:
        services.save(
            db_session,
            school,
            wording.key,
            subject="Subject",
            body=body,
            seen_version=0,
            actor=Actor.system(),
        )
    assert "line 2" in refused.value.message
    assert _override_count(db_session) == 0


@pytest.mark.parametrize("attempt", HOSTILE)
def test_a_hostile_override_in_the_database_renders_nothing_secret(app, db_session, attempt):
    """Even a row that skipped the checks (written straight to the database) cannot print a
    secret: the sandbox refuses at render time and the default is sent instead."""
    school = school_of(db_session)
    db_session.add(
        WordingOverride(
            school_id=school.id,
            key="school-message",
            subject="Hi {{ case.reference }}",
            body=f"{attempt} {{{{ case.reference }}}}",
        )
    )
    db_session.commit()
    db_session.info.clear()
    shown = services.render(
        db_session, "school-message", {"case": SAMPLE_CASE, "recipient_name": "Jordan Ellison"}
    )
    settings = app.state.settings
    for secret in (settings.secret_key, "secret_key", "__globals__", "subclasses"):
        assert secret not in shown.body
    assert "The school has sent you a message" in shown.body


def test_the_edit_page_refuses_a_hostile_template_with_the_line_and_keeps_the_text(
    client, admin, db_session, app
):
    sign_in(client, admin)
    form = client.get("/staff/settings/wording/school-message")
    assert form.status_code == 200
    typed = (
        "Dear {{ recipient_name }},\n\nWe wrote back.\n{{ request.app.state.settings.secret_key }}"
    )
    response = client.post(
        "/staff/settings/wording/school-message",
        data={
            "csrf_token": csrf_of(form),
            "subject": "A message",
            "body": typed,
            "version": "0",
            "action": "save",
        },
    )
    assert response.status_code == 422
    html = page(response)
    assert html.select_one("title").text.startswith("Error: ")
    error = html.select_one("#body-error").get_text(" ", strip=True)
    assert "line 4" in error and "request" in error
    assert html.select_one("textarea#body").text == typed
    assert app.state.settings.secret_key not in response.text
    assert _override_count(db_session) == 0


def test_a_syntax_error_names_its_line(client, admin):
    sign_in(client, admin)
    form = client.get("/staff/settings/wording/stage1-letter")
    response = client.post(
        "/staff/settings/wording/stage1-letter",
        data={
            "csrf_token": csrf_of(form),
            "body": "Dear {{ recipient_name }},\n\n{% if case.is_concern %}\nNo end",
            "version": "0",
            "action": "preview",
        },
    )
    assert response.status_code == 422
    assert "line 4" in page(response).select_one("#body-error").text


def test_the_preview_shows_the_sample_case_escaped(client, admin):
    sign_in(client, admin)
    form = client.get("/staff/settings/wording/complaint-received")
    response = client.post(
        "/staff/settings/wording/complaint-received",
        data={
            "csrf_token": csrf_of(form),
            "subject": "Got it: {{ case.reference }}",
            "body": "<b>Hello</b> {{ recipient_name }}\n{{ private_link }}",
            "version": "0",
            "action": "preview",
        },
    )
    assert response.status_code == 200
    html = page(response)
    assert html.select_one("#preview-subject").text == "Got it: C-7K4P-2QX"
    assert "<b>Hello</b> Jordan Ellison" in html.select_one("#preview-body").text
    assert "&lt;b&gt;Hello&lt;/b&gt;" in response.text
    assert html.select_one("#preview-body b") is None


def test_the_private_link_must_stay_in_the_received_email(school, db_session):
    with pytest.raises(WordingProblem, match="private_link"):
        services.preview(wording_for("complaint-received"), school, "Got it", "No link here")


def test_saving_changes_the_emails_sent_and_back_to_our_default_restores_them(
    client, admin, db_session, settings
):
    sign_in(client, admin)
    form = client.get("/staff/settings/wording/complaint-received")
    saved = client.post(
        "/staff/settings/wording/complaint-received",
        data={
            "csrf_token": csrf_of(form),
            "subject": "Thanks, {{ recipient_name }}: {{ case.reference }}",
            "body": "Hello from {{ school.name }}.\n\nYour link: {{ private_link }}\n",
            "version": "0",
            "action": "save",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    listing = text_of(client.get("/staff/settings/wording"))
    assert "Changed by the school" in listing

    received = complaints.submit(db_session, settings, answers(parent_name="Robin Hale"))
    db_session.commit()
    mail = db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    reference = received.complaint.reference
    assert mail.subject == f"Thanks, Robin Hale: {reference}"
    assert mail.body_text.startswith(f"Hello from {school_of(db_session).name}.")
    assert SECRET_PLACEHOLDER in mail.body_text
    assert received.access_token not in mail.body_text
    assert mail.sealed_secret

    events = db_session.scalars(
        select(HistoryEvent).where(HistoryEvent.subject_type == "wording")
    ).all()
    assert [(e.tag, e.from_value, e.to_value, e.actor_user_id) for e in events] == [
        ("wording:save", "our default", "the school's own", admin.id)
    ]

    confirm = client.get("/staff/settings/wording/complaint-received/reset")
    assert confirm.status_code == 200
    assert "Go back to our default wording?" in text_of(confirm)
    reset = client.post(
        "/staff/settings/wording/complaint-received/reset",
        data={"csrf_token": csrf_of(confirm), "version": "1"},
        follow_redirects=False,
    )
    assert reset.headers["location"].endswith("?reset=1")
    assert _override_count(db_session) == 0
    db_session.commit()  # nothing of its own to keep: a new transaction, the settings now
    tags = db_session.scalars(
        select(HistoryEvent.tag)
        .where(HistoryEvent.subject_type == "wording")
        .order_by(HistoryEvent.id)
    ).all()
    assert tags == ["wording:save", "wording:reset"]
    again = complaints.submit(db_session, settings, answers(parent_name="Robin Hale"))
    db_session.commit()
    mail = db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert mail.subject == f"We have received your complaint ({again.complaint.reference})"


def test_a_second_profile_renders_its_own_emails_and_letters(db_session, settings):
    first = school_of(db_session)
    other_row = SchoolProfile(name="Hillside Academy", contact_phone="01999 000111")
    db_session.add(other_row)
    db_session.commit()
    other = snapshot(other_row)
    for school, words in ((first, "Our own words"), (other, "Hillside words")):
        services.save(
            db_session,
            school,
            "school-message",
            subject=words + " {{ case.reference }}",
            body=words + " from {{ school.name }}, {{ recipient_name }}.",
            seen_version=0,
            actor=Actor.system(),
        )
    services.save(
        db_session,
        other,
        "stage1-letter",
        body="Dear {{ recipient_name }},\n\nHillside's letter: {{ outcome }}.\n\n{{ school.name }}",
        seen_version=0,
        subject="",
        actor=Actor.system(),
    )
    db_session.commit()
    values = {"case": SAMPLE_CASE, "recipient_name": "Jordan Ellison"}
    mine = services.render(db_session, "school-message", values)
    theirs = services.render(db_session, "school-message", values, school=other)
    assert mine.subject == "Our own words C-7K4P-2QX"
    assert mine.body == f"Our own words from {first.name}, Jordan Ellison."
    assert theirs.subject == "Hillside words C-7K4P-2QX"
    assert theirs.body == "Hillside words from Hillside Academy, Jordan Ellison."

    letter = {**wording_for("stage1-letter").sample, "case": SAMPLE_CASE, "escalate_by": "soon"}
    my_letter = services.render(db_session, "stage1-letter", letter)
    their_letter = services.render(db_session, "stage1-letter", letter, school=other)
    assert "What we looked into" in my_letter.body  # ours: the default
    assert their_letter.body == (
        "Dear Jordan Ellison,\n\nHillside's letter: Partly upheld.\n\nHillside Academy"
    )


def test_the_stage1_letter_sent_uses_the_school_wording(db_session, settings):
    cast = make_cast(db_session)
    school = school_of(db_session)
    services.save(
        db_session,
        school,
        "stage1-letter",
        subject="",
        body="Dear {{ recipient_name }},\n\n{{ outcome }}: {{ decision }}\n\n{{ signer_name }}",
        seen_version=0,
        actor=Actor.system(),
    )
    db_session.commit()
    case = make_case(db_session, settings, cast, "responded", parent_name="Robin Hale")
    letter = db_session.scalars(
        select(ComplaintMessage).where(
            ComplaintMessage.complaint_id == case.id,
            ComplaintMessage.kind == MessageKind.stage1_letter,
        )
    ).one()
    assert letter.body.startswith("Dear Robin Hale,\n\n")
    assert "What we looked into" not in letter.body


@pytest.mark.committed
def test_two_admins_saving_at_once_one_wins(app, db_session, school):
    def race(seen_version: int) -> list[str]:
        count = 8
        barrier = threading.Barrier(count)
        outcomes: list[str] = []
        lock = threading.Lock()

        def run(number: int) -> None:
            with app.state.sessions() as session:
                barrier.wait(timeout=60)
                try:
                    services.save(
                        session,
                        school,
                        "school-message",
                        subject=f"Version {number}",
                        body=f"Text {number}",
                        seen_version=seen_version,
                        actor=Actor.system(),
                    )
                    session.commit()
                    result = "won"
                except WordingProblem:
                    session.rollback()
                    result = "lost"
                except Exception as error:  # SQLite: "database is locked" also loses
                    session.rollback()
                    result = "lost" if "locked" in str(error) else f"error {error}"
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return outcomes

    first = race(0)
    assert first.count("won") == 1, first
    assert _override_count(db_session) == 1
    second = race(1)
    assert second.count("won") == 1, second
    db_session.expire_all()
    row = db_session.scalars(select(WordingOverride)).one()
    assert row.version == 2
    saves = db_session.scalar(
        select(func.count()).select_from(HistoryEvent).where(HistoryEvent.tag == "wording:save")
    )
    assert saves == 2


def test_the_wording_pages_are_for_admins_only(client, db_session):
    office = make_user(db_session, Role.office)
    sign_in(client, office)
    for path in ("/staff/settings/wording", "/staff/settings/wording/school-message"):
        assert client.get(path, follow_redirects=False).status_code == 403
    client.cookies.clear()
    signed_out = client.get("/staff/settings/wording", follow_redirects=False)
    assert signed_out.status_code in (302, 303)


def test_an_unknown_key_is_not_found(client, admin):
    sign_in(client, admin)
    assert client.get("/staff/settings/wording/no-such-email").status_code == 404
