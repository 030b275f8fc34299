"""Papers for the governors' panel: the parent sends them from the tracking page until the end of
the papers date (the school's clock), and is told clearly when it has passed; the clerk is
emailed; the clerk or chair adds the school's papers on the case page; all of it is in the
case's history, and nothing is left behind when papers are refused."""

from __future__ import annotations

import io
import threading
from datetime import date, datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from portal.complaints import services
from portal.complaints.models import Attachment, Complaint, ComplaintMessage, MessageKind
from portal.complaints.services import ComplaintError
from portal.history import HistoryEvent
from portal.mail import OutboxMessage
from tests.conftest import csrf_of
from tests.factories import make_case_with_link, make_cast, sign_in
from tests.pages import page as parse

HEARING = date(2026, 12, 10)  # a Thursday in term: papers are due on Thursday 3 December
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def _stage2(db_session, settings, cast=None):
    cast = cast or make_cast(db_session)
    case, token = make_case_with_link(db_session, settings, cast, "panel", hearing_on=HEARING)
    return cast, case, token


def _send(client, token, files, note="My timeline of what happened."):
    page = client.get(f"/track/{token}")
    return client.post(
        f"/track/{token}/papers",
        data={"csrf_token": csrf_of(page), "papers_note": note},
        files=[("papers_files", item) for item in files],
        follow_redirects=False,
    )


def _papers(db_session, case) -> list[ComplaintMessage]:
    db_session.expire_all()
    return list(
        db_session.scalars(
            select(ComplaintMessage).where(
                ComplaintMessage.complaint_id == case.id,
                ComplaintMessage.kind == MessageKind.panel_papers,
            )
        )
    )


def test_the_parent_sends_papers_and_the_clerk_is_emailed(client, db_session, settings):
    cast, case, token = _stage2(db_session, settings)
    page = parse(client.get(f"/track/{token}"))
    form = page.select_one(f'form[action="/track/{token}/papers"]')
    assert form is not None and form["enctype"] == "multipart/form-data"
    assert (
        "Send it by the end of Thursday 3 December 2026"
        in page.select_one("#papers").find_next("p").text
    )

    response = _send(
        client,
        token,
        [("timeline.pdf", PDF, "application/pdf"), ("photo.png", _png(), "image/png")],
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith("?papers=1#hearing")

    (message,) = _papers(db_session, case)
    assert message.author_type == "parent"
    assert message.body == "My timeline of what happened."
    files = db_session.scalars(select(Attachment).where(Attachment.message_id == message.id)).all()
    assert sorted(f.filename for f in files) == ["photo.png", "timeline.pdf"]
    for stored in files:
        assert (Path(settings.attachments_dir) / stored.storage_key).exists()

    (email,) = db_session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.to_address == cast.clerk.email,
            OutboxMessage.subject.like("Papers for the panel%"),
        )
    ).all()
    assert case.reference in email.subject
    assert "timeline" not in email.body_text  # the details stay on the portal

    thanks = parse(client.get(f"/track/{token}?papers=1"))
    assert "We have sent your papers to the clerk" in thanks.text
    assert "Papers for the panel" in thanks.text  # the sending shows among the messages
    tags = db_session.scalars(
        select(HistoryEvent.tag).where(HistoryEvent.subject_id == str(case.id))
    ).all()
    assert "complaint:message:panel_papers" in tags


def test_papers_are_taken_until_the_end_of_the_papers_day_and_refused_after(
    client, db_session, settings, clock
):
    _cast, case, token = _stage2(db_session, settings)
    clock.set(datetime(2026, 12, 3, 23, 58))  # late on the last day, school time (GMT)
    assert _send(client, token, [("late.pdf", PDF, "application/pdf")]).status_code == 303

    clock.set(datetime(2026, 12, 4, 0, 1))
    page = parse(client.get(f"/track/{token}"))
    assert page.select_one(f'form[action="/track/{token}/papers"]') is None
    words = page.select_one("#papers").find_next("p").text
    assert "The last day to send papers was Thursday 3 December 2026" in words
    assert "contact the clerk" in words

    # A form kept open in another tab is refused with the same clear words, and stores nothing.
    files_before = db_session.scalar(select(func.count()).select_from(Attachment))
    response = client.post(
        f"/track/{token}/papers",
        data={"csrf_token": csrf_of(client.get(f"/track/{token}")), "papers_note": "Too late"},
        files=[("papers_files", ("later.pdf", PDF, "application/pdf"))],
    )
    assert response.status_code == 422
    refused = parse(response)
    assert "The last day to send papers was Thursday 3 December 2026" in refused.text
    assert len(_papers(db_session, case)) == 1
    assert db_session.scalar(select(func.count()).select_from(Attachment)) == files_before
    assert sorted(p.name for p in Path(settings.attachments_dir).iterdir()) == sorted(
        a.storage_key
        for a in db_session.scalars(select(Attachment).where(Attachment.complaint_id == case.id))
    )


def test_a_refused_file_refuses_the_papers_and_leaves_nothing_behind(client, db_session, settings):
    _cast, case, token = _stage2(db_session, settings)
    response = _send(
        client,
        token,
        [("good.pdf", PDF, "application/pdf"), ("run.exe", b"MZ\x90\x00binary", "text/plain")],
    )
    assert response.status_code == 422
    page = parse(response)
    assert (
        "run.exe must be a PDF, JPG, PNG or Word (.docx) file"
        in page.select_one(".govuk-error-summary").text
    )
    assert page.select_one("#papers_note")["name"] == "papers_note"
    assert "My timeline of what happened." in page.select_one("#papers_note").text
    assert _papers(db_session, case) == []
    folder = Path(settings.attachments_dir)
    kept = {a.storage_key for a in db_session.scalars(select(Attachment))}
    assert not folder.exists() or {p.name for p in folder.iterdir()} <= kept

    empty = _send(client, token, [])
    assert empty.status_code == 422
    assert "Choose at least one file" in parse(empty).text


def test_hostile_filenames_and_notes_get_a_clear_answer(client, db_session, settings):
    _cast, case, token = _stage2(db_session, settings)
    hostile = "\u202egnp.exe\x00../../" + "a" * 300 + ".pdf"
    response = _send(client, token, [(hostile, PDF, "application/pdf")], note="Mine \u202e\x07")
    assert response.status_code == 303
    (message,) = _papers(db_session, case)
    (stored,) = db_session.scalars(select(Attachment).where(Attachment.message_id == message.id))
    assert "/" not in stored.filename and "\u202e" not in stored.filename
    assert len(stored.filename) <= 124 and stored.filename.endswith(".pdf")

    too_long = _send(client, token, [("a.pdf", PDF, "application/pdf")], note="x" * 2_001)
    assert too_long.status_code == 422
    assert "The note must be 2,000 characters or fewer" in parse(too_long).text
    many = _send(client, token, [(f"{n}.pdf", PDF, "application/pdf") for n in range(6)])
    assert many.status_code == 422
    assert "up to 5 files" in parse(many).text


def test_the_clerk_adds_the_schools_papers_on_the_case_page(client, db_session, settings):
    cast, case, token = _stage2(db_session, settings)
    sign_in(client, cast.clerk)
    page = client.get(f"/staff/complaints/{case.reference}")
    assert parse(page).select_one(f'form[action="/staff/complaints/{case.reference}/papers"]')
    response = client.post(
        f"/staff/complaints/{case.reference}/papers",
        data={"csrf_token": csrf_of(page), "school_papers_note": "The head's statement."},
        files=[("school_papers_files", ("statement.pdf", PDF, "application/pdf"))],
        follow_redirects=False,
    )
    assert response.status_code == 303
    (message,) = _papers(db_session, case)
    assert message.author_type == "staff" and message.author_user_id == cast.clerk.id
    # The parent sees the school's papers too: they are in the bundle the parent reads.
    parent_page = client.get(f"/track/{token}")
    assert "statement.pdf" in parent_page.text

    refused = client.post(
        f"/staff/complaints/{case.reference}/papers",
        data={"csrf_token": csrf_of(page), "school_papers_note": "Nothing chosen"},
    )
    assert refused.status_code == 422
    assert "Choose at least one file" in parse(refused).text


def test_a_governor_on_the_panel_may_not_add_papers(client, db_session, settings):
    cast, case, _token = _stage2(db_session, settings)
    sign_in(client, cast.governors[0])
    page = client.get(f"/staff/complaints/{case.reference}")
    assert page.status_code == 200
    response = client.post(
        f"/staff/complaints/{case.reference}/papers",
        data={"csrf_token": csrf_of(page)},
        files=[("school_papers_files", ("x.pdf", PDF, "application/pdf"))],
    )
    assert response.status_code == 403


def test_no_papers_before_a_hearing_or_after_the_case_closes(db_session, settings):
    cast = make_cast(db_session)
    case, _token = make_case_with_link(db_session, settings, cast, "stage2")
    with pytest.raises(ComplaintError, match="no panel hearing"):
        services.check_parent_papers(db_session, case, "")
    closed, _token = make_case_with_link(db_session, settings, cast, "closed")
    with pytest.raises(ComplaintError, match="no panel hearing"):
        services.check_parent_papers(db_session, closed, "")


@pytest.mark.committed
def test_papers_sent_as_the_case_closes_are_refused_or_come_before_the_outcome(
    app, db_session, settings
):
    """The parent sends papers at the moment the clerk sends the outcome: one of the two wins
    (the case's version), so no papers ever land on a closed case."""
    cast = make_cast(db_session)
    case, _token = make_case_with_link(
        db_session, settings, cast, "panel", hearing_on=date(2026, 11, 25)
    )
    db_session.commit()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def papers(session, complaint):
        stored = services.attachments_for(session, complaint)
        services.send_parent_papers(session, settings, complaint, "Late thoughts", [stored[0].id])

    def outcome(session, complaint):
        from tests.factories import letter

        clerk = session.get(type(cast.clerk), cast.clerk.id)
        services.send_panel_outcome(session, settings, complaint, clerk, letter())

    def run(name, action):
        with app.state.sessions() as session:
            complaint = session.get(Complaint, case.id)
            session.commit()
            barrier.wait(timeout=60)
            try:
                action(session, complaint)
                session.commit()
                outcomes[name] = "won"
            except (StaleDataError, ComplaintError):
                session.rollback()
                outcomes[name] = "lost"
            except Exception as error:  # an OperationalError from a locked SQLite file
                session.rollback()
                outcomes[name] = f"lost: {type(error).__name__}"

    from portal.complaints import attachments

    with app.state.sessions() as session:
        attachments.store(session, settings, filename="mine.pdf", content=PDF, complaint_id=case.id)
        session.commit()
    threads = [
        threading.Thread(target=run, args=("papers", papers)),
        threading.Thread(target=run, args=("outcome", outcome)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert list(outcomes.values()).count("won") == 1, outcomes
    db_session.expire_all()
    final = db_session.get(Complaint, case.id)
    papers_rows = _papers(db_session, final)
    if outcomes["papers"] == "won":
        assert final.status == "open" and len(papers_rows) == 1
    else:
        assert final.status == "closed" and papers_rows == []
