"""The panel bundle: one PDF with a contents page, every page numbered with the case reference,
the complaint, the stage 1 letter, the escalation reasons and the papers from both sides. Files
that cannot go in are listed as not included; internal notes never go in. The clerk, the chair
and the panel's members download it; the clerk or chair sends it, and the parent downloads it
from then on. Nobody else, and never the person the case is about."""

from __future__ import annotations

import io
import threading
from datetime import date

import pytest
from fpdf import FPDF
from PIL import Image
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from portal.accounts.models import Role
from portal.complaints import attachments, bundle, services
from portal.complaints.models import About, Complaint, Panel
from portal.complaints.services import ComplaintError
from portal.history import HistoryEvent
from portal.mail import OutboxMessage
from tests.conftest import csrf_of
from tests.factories import make_case_with_link, make_cast, make_user, sign_in

HEARING = date(2026, 12, 10)


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


def _pdf(pages: int, words: str) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for number in range(pages):
        pdf.add_page()
        pdf.cell(0, 10, f"{words} {number + 1}")
    return bytes(pdf.output())


def _encrypted() -> bytes:
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(_pdf(1, "Secret"))))
    writer.encrypt("open-sesame")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), "blue").save(buffer, format="JPEG")
    return buffer.getvalue()


def _papers(db_session, settings, case, user, files):
    stored = [
        attachments.store(
            db_session, settings, filename=name, content=content, complaint_id=case.id
        )
        for name, content in files
    ]
    ids = [a.id for a in stored]
    if user is None:
        services.send_parent_papers(db_session, settings, case, "From me.", ids)
    else:
        services.add_school_papers(db_session, case, user, "From the school.", ids)
    db_session.commit()


def _text(reader: PdfReader) -> list[str]:
    return [page.extract_text() or "" for page in reader.pages]


@pytest.fixture
def world(db_session, settings):
    cast = make_cast(db_session)
    case, token = make_case_with_link(db_session, settings, cast, "panel", hearing_on=HEARING)
    services.add_note(db_session, case, cast.clerk, "INTERNAL-ONLY: the head is worried.")
    db_session.commit()
    _papers(
        db_session,
        settings,
        case,
        None,
        [
            ("timeline.pdf", _pdf(3, "Parent timeline page")),
            ("photo.jpg", _jpeg()),
            ("locked.pdf", _encrypted()),
            ("broken.pdf", b"%PDF-1.7\nthis is not really a pdf at all\n%%EOF"),
        ],
    )
    _papers(db_session, settings, case, cast.clerk, [("statement.pdf", _pdf(2, "Head statement"))])
    return cast, case, token


def test_the_bundle_has_a_contents_page_numbered_pages_and_both_sides_papers(
    db_session, settings, world
):
    _cast, case, _token = world
    made = bundle.build_bundle(db_session, settings, case)
    reader = PdfReader(io.BytesIO(made.content))
    pages = _text(reader)
    # contents 1 + complaint 1 + letter 1 + reasons 1 + parent cover 1 + timeline 3 + photo 1
    # + school cover 1 + statement 2
    assert len(reader.pages) == made.pages == 12
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of 12" in text
        assert case.reference in text

    contents = pages[0]
    assert "Contents" in contents
    titles = {entry.title: entry.page for entry in made.contents}
    assert titles["The complaint"] == 2
    assert titles["The stage 1 response letter"] == 3
    assert titles["Why the parent asked for a panel"] == 4
    assert titles["Papers from the parent"] == 5
    assert titles["timeline.pdf"] == 6
    assert titles["photo.jpg"] == 9
    assert titles["Papers from the school"] == 10
    assert titles["statement.pdf"] == 11
    assert "Parent timeline page 1" in pages[5] and "Parent timeline page 3" in pages[7]
    assert "Head statement 2" in pages[11]
    assert "page 11" in contents
    # Each entry's number points at the page that holds it.
    assert "The complaint" in pages[1] and case.what_happened[:20] in pages[1]
    assert "Why the parent asked for a panel" in pages[3]


def test_a_broken_or_encrypted_pdf_is_listed_not_included(db_session, settings, world):
    _cast, case, _token = world
    made = bundle.build_bundle(db_session, settings, case)
    assert sorted(made.not_included) == ["broken.pdf", "locked.pdf"]
    contents = _text(PdfReader(io.BytesIO(made.content)))[0]
    assert "locked.pdf (not included: ask the clerk for a copy)" in contents
    assert "broken.pdf (not included: ask the clerk for a copy)" in contents


def test_a_missing_file_or_a_word_file_is_listed_not_included(db_session, settings, world):
    _cast, case, _token = world
    (timeline,) = db_session.scalars(
        select(attachments.Attachment).where(attachments.Attachment.filename == "timeline.pdf")
    )
    (settings.attachments_dir / timeline.storage_key).unlink()
    timeline.content_type = attachments.DOCX_TYPE
    made = bundle.build_bundle(db_session, settings, case)
    assert "timeline.pdf" in made.not_included
    assert made.pages == 9


def test_the_bundle_never_holds_internal_notes(db_session, settings, world):
    _cast, case, _token = world
    made = bundle.build_bundle(db_session, settings, case)
    assert "INTERNAL-ONLY" not in "".join(_text(PdfReader(io.BytesIO(made.content))))


def test_hostile_filenames_are_listed_safely(db_session, settings, world):
    _cast, case, _token = world
    _papers(
        db_session,
        settings,
        case,
        None,
        [("\u202etxt.exe\x07" + "\u0645" * 40 + "<script>.pdf", _pdf(1, "Odd"))],
    )
    made = bundle.build_bundle(db_session, settings, case)
    reader = PdfReader(io.BytesIO(made.content))
    assert len(reader.pages) == made.pages == 13  # one more page, under the same cover
    assert "\u202e" not in _text(reader)[0]


def _download(client, user, case):
    client.cookies.clear()
    sign_in(client, user)
    return client.get(f"/staff/complaints/{case.reference}/bundle.pdf", follow_redirects=False)


def test_who_may_download_the_bundle(client, db_session, settings):
    cast = make_cast(db_session)
    spare = make_user(db_session, Role.governor, name="Spare Governor")
    office = cast.office
    case, _token = make_case_with_link(
        db_session,
        settings,
        cast,
        "panel",
        hearing_on=HEARING,
        about=About.staff,
        about_user=office,
    )
    assert _download(client, cast.clerk, case).status_code == 200
    assert _download(client, cast.chair, case).status_code == 200
    for member in cast.governors:
        response = _download(client, member, case)
        case_page = client.get(f"/staff/complaints/{case.reference}")
        assert f"/staff/complaints/{case.reference}/bundle.pdf" in case_page.text
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
    assert _download(client, spare, case).status_code == 404  # a governor not on the panel
    assert _download(client, office, case).status_code == 404  # the person it is about
    assert _download(client, cast.head, case).status_code == 403  # sees the case, not the bundle
    assert "bundle.pdf" not in client.get(f"/staff/complaints/{case.reference}").text
    views = db_session.scalars(
        select(HistoryEvent).where(
            HistoryEvent.subject_id == str(case.id), HistoryEvent.tag == "complaint:view"
        )
    ).all()
    assert any(event.details.get("read") == "the panel bundle (PDF)" for event in views)


def test_the_bundle_is_not_there_for_a_case_before_stage_2(client, db_session, settings):
    cast = make_cast(db_session)
    case, _token = make_case_with_link(db_session, settings, cast, "open")
    assert _download(client, cast.head, case).status_code == 404


def test_sending_the_bundle_tells_the_panel_and_the_parent_who_then_downloads_it(
    client, db_session, settings, world
):
    cast, case, token = world
    assert client.get(f"/track/{token}/bundle.pdf").status_code == 404
    assert "Download the panel's papers" not in client.get(f"/track/{token}").text

    sign_in(client, cast.clerk)
    page = client.get(f"/staff/complaints/{case.reference}")
    unticked = client.post(
        f"/staff/complaints/{case.reference}/send-bundle", data={"csrf_token": csrf_of(page)}
    )
    assert unticked.status_code == 422
    assert "Confirm that you have read the bundle" in unticked.text
    sent = client.post(
        f"/staff/complaints/{case.reference}/send-bundle",
        data={"csrf_token": csrf_of(page), "bundle_checked": "yes"},
        follow_redirects=False,
    )
    assert sent.status_code == 303

    db_session.expire_all()
    panel = db_session.scalars(select(Panel).where(Panel.complaint_id == case.id)).one()
    assert panel.bundle_sent_at is not None
    for member in cast.governors:
        (email,) = db_session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.to_address == member.email,
                OutboxMessage.subject.like("The panel bundle is ready%"),
            )
        )
        assert "12 pages" in email.body_text
    (to_parent,) = db_session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.to_address == case.parent_email,
            OutboxMessage.subject.like("The papers for your panel hearing%"),
        )
    )
    assert "12 pages" in to_parent.body_text
    event = db_session.scalars(
        select(HistoryEvent).where(
            HistoryEvent.subject_id == str(case.id), HistoryEvent.tag == "complaint:panel:bundle"
        )
    ).one()
    assert event.details["pages"] == 12

    client.cookies.clear()
    assert "Download the panel's papers" in client.get(f"/track/{token}").text
    download = client.get(f"/track/{token}/bundle.pdf")
    assert download.status_code == 200
    assert len(PdfReader(io.BytesIO(download.content)).pages) == 12
    assert "attachment" in download.headers["content-disposition"]


def test_only_the_clerk_or_chair_sends_and_only_with_a_panel(db_session, settings):
    cast = make_cast(db_session)
    case, _token = make_case_with_link(db_session, settings, cast, "stage2")
    with pytest.raises(ComplaintError, match="Record the panel"):
        services.send_bundle(db_session, settings, case, cast.clerk, pages=1)
    with pytest.raises(ComplaintError, match="Only the clerk or the chair"):
        services.send_bundle(db_session, settings, case, cast.head, pages=1)


@pytest.mark.committed
def test_two_clerks_sending_the_bundle_at_once_send_it_once(app, db_session, settings):
    cast = make_cast(db_session)
    case, _token = make_case_with_link(db_session, settings, cast, "panel", hearing_on=HEARING)
    db_session.commit()
    count = 4
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(user_id: int) -> None:
        with app.state.sessions() as session:
            complaint = session.get(Complaint, case.id)
            user = session.get(type(cast.clerk), user_id)
            services.panel_for(session, complaint)
            session.commit()
            barrier.wait(timeout=60)
            try:
                services.send_bundle(session, settings, complaint, user, pages=5)
                session.commit()
                result = "won"
            except (StaleDataError, ComplaintError):
                session.rollback()
                result = "lost"
            except Exception:  # an OperationalError from a locked SQLite file
                session.rollback()
                result = "lost"
        with lock:
            outcomes.append(result)

    people = [cast.clerk.id, cast.chair.id, cast.clerk.id, cast.chair.id]
    threads = [threading.Thread(target=run, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("won") == 1
    db_session.expire_all()
    emails = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.like("The panel bundle is ready%"))
    ).all()
    assert len(emails) == 3  # one per member, once
    events = db_session.scalars(
        select(HistoryEvent).where(HistoryEvent.tag == "complaint:panel:bundle")
    ).all()
    assert len(events) == 1


def test_the_demo_shows_papers_from_both_sides_and_a_sent_bundle(db_session, settings):
    from portal.demo import load_demo

    load_demo(db_session, settings)
    case = db_session.scalars(
        select(Complaint).where(Complaint.parent_email == "hannah.kowalski@example.com")
    ).one()
    sendings = services.panel_papers(db_session, case)
    assert {s.from_parent for s in sendings} == {True, False}
    assert services.bundle_sent(db_session, case)
    made = bundle.build_bundle(db_session, settings, case)
    assert made.not_included == []
    assert {"shoe-shop-receipt.pdf", "uniform-policy-september-2026.pdf"} <= {
        entry.title for entry in made.contents
    }
