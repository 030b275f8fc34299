"""Paper answers carry their scanned form, phone answers a note of the call. The scan is checked
by its bytes (PDF, JPEG or PNG; not a renamed program, not SVG), limited in size, kept in the
database even when the rest of the form needs correcting, and downloaded only by the staff who
see the pupil's page."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.consent.models import ConsentEvidence, ConsentRecord, Contact, Pupil
from portal.consent.services import answers, evidence
from portal.consent.services.answers import Answer
from portal.consent.services.purposes import purposes
from portal.text import clean_text
from tests.conftest import csrf_of, page, text_of
from tests.consent.helpers import ROWS, SCAN_PDF, import_file, pupil_file
from tests.factories import make_user, sign_in
from tests.hostile import HOSTILE_FILENAMES, HOSTILE_TEXT


@pytest.fixture
def office(client, db_session):
    user = make_user(db_session, Role.office, name="Olive Office")
    sign_in(client, user)
    return user


@pytest.fixture
def amelia(client, db_session, office) -> Pupil:
    import_file(client, pupil_file(*ROWS))
    db_session.expire_all()
    return db_session.scalar(select(Pupil).where(Pupil.mis_id == "A001"))


def sarah(db_session) -> int:
    return db_session.scalar(select(Contact.id).where(Contact.email == "sarah@example.com"))


def send(client, db_session, pupil, data, files=None):  # type: ignore[no-untyped-def]
    url = f"/staff/pupils/{pupil.id}/answers"
    token = csrf_of(client.get(url))
    base = {"csrf_token": token, "contact_id": str(sarah(db_session)), "answer_video": "yes"}
    return client.post(url, data={**base, **data}, files=files, follow_redirects=False)


def png_with_location() -> bytes:
    image = Image.new("RGB", (40, 30), "white")
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    out = io.BytesIO()
    image.save(out, format="PNG", exif=exif.tobytes())
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, format="JPEG")
    return out.getvalue()


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200


def test_paper_answers_are_saved_with_their_scan_and_the_history_offers_it(
    client, db_session, amelia
):
    response = send(
        client, db_session, amelia, {"how": "paper"}, {"scan_file": ("form.pdf", SCAN_PDF, "x/y")}
    )
    assert response.status_code == 303, text_of(response)
    record = db_session.scalar(select(ConsentRecord))
    kept = db_session.get(ConsentEvidence, record.evidence_id)
    assert (kept.how, kept.filename, kept.content_type, kept.content) == (
        "paper",
        "form.pdf",
        "application/pdf",
        SCAN_PDF,
    )
    history = page(client.get(f"/staff/pupils/{amelia.id}")).select_one("#records")
    link = history.select_one("a[href*='/scans/']")
    assert "Download the scanned form" in link.text
    assert "Video (wording 1)" in history.text
    download = client.get(link["href"])
    assert download.status_code == 200 and download.content == SCAN_PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == 'attachment; filename="form.pdf"'
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in download.headers["content-security-policy"]


def test_paper_without_a_scan_is_refused_with_what_to_do(client, db_session, amelia):
    response = send(client, db_session, amelia, {"how": "paper", "answer_website": "yes"})
    assert response.status_code == 422
    shown = page(response)
    assert "Add the scanned paper form" in shown.select_one("#scan-error").text
    # What was typed comes back.
    assert shown.select_one("#how[checked]") is not None
    assert shown.select_one("#answer_video[checked]") is not None
    assert shown.select_one("#answer_website[checked]") is not None
    assert db_session.scalar(select(func.count()).select_from(ConsentRecord)) == 0


def test_phone_answers_need_a_note_of_the_call(client, db_session, amelia):
    response = send(client, db_session, amelia, {"how": "phone", "call_note": "  "})
    assert response.status_code == 422
    assert "Write a note of the call: who rang, and when" in text_of(response)
    response = send(client, db_session, amelia, {"how": "phone", "call_note": "x" * 1001})
    assert response.status_code == 422
    assert "1,000 characters or fewer" in text_of(response)
    assert page(response).select_one("#call_note").text.strip() == "x" * 1001
    note = "Sarah Jones rang on Monday at 9:15 \u05e9\u05dc\u05d5\u05dd"
    response = send(client, db_session, amelia, {"how": "phone", "call_note": note})
    assert response.status_code == 303
    record = db_session.scalar(select(ConsentRecord))
    assert db_session.get(ConsentEvidence, record.evidence_id).call_note == note
    history = page(client.get(f"/staff/pupils/{amelia.id}")).select_one("#records").text
    assert "Note of the call: " + note in " ".join(history.split())


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("form.pdf", EXE, "must be a PDF, JPG or PNG file"),  # a program renamed
        ("form.exe", EXE, "must be a PDF, JPG or PNG file"),
        ("form.svg", SVG, "must be a PDF, JPG or PNG file"),
        ("form.png", SVG, "must be a PDF, JPG or PNG file"),
        ("form.pdf", b"", "is empty"),
        ("form.png", b"\x89PNG\r\n\x1a\nnot really", "could not be opened"),
        ("form.pdf", b"%PDF-" + b"0" * (20 * 1024 * 1024), "smaller than 10 MB"),
    ],
)
def test_scans_are_checked_by_their_bytes_and_size(
    client, db_session, amelia, filename, content, message
):
    response = send(
        client,
        db_session,
        amelia,
        {"how": "paper"},
        {"scan_file": (filename, content, "image/png")},
    )
    assert response.status_code == 422
    assert message in page(response).select_one("#scan-error").text
    assert db_session.scalar(select(func.count()).select_from(ConsentEvidence)) == 0
    assert db_session.scalar(select(func.count()).select_from(ConsentRecord)) == 0


def test_a_picture_is_kept_without_its_metadata_and_by_its_real_type(client, db_session, amelia):
    response = send(
        client,
        db_session,
        amelia,
        {"how": "paper"},
        {"scan_file": ("scan.pdf", png_with_location(), "application/pdf")},
    )
    assert response.status_code == 303
    kept = db_session.scalar(select(ConsentEvidence))
    assert (kept.filename, kept.content_type) == ("scan.png", "image/png")
    assert Image.open(io.BytesIO(kept.content)).getexif() == {}
    assert evidence.keep_scan(db_session, make_user(db_session), amelia, "a.jpg", jpeg()).size > 0


def test_a_scan_sent_with_a_form_needing_correction_is_kept(client, db_session, amelia):
    response = send(
        client,
        db_session,
        amelia,
        {"how": "paper", "contact_id": "", "answer_video": ""},
        {"scan_file": ("\u202eevil.pdf", SCAN_PDF, "application/pdf")},
    )
    assert response.status_code == 422
    shown = page(response)
    assert "is kept with this form" in shown.select_one("#scan-kept").text
    scan_id = shown.select_one("input[name=scan_id]")["value"]
    # Corrected, without choosing the file again.
    response = send(client, db_session, amelia, {"how": "paper", "scan_id": scan_id})
    assert response.status_code == 303
    record = db_session.scalar(select(ConsentRecord))
    assert str(record.evidence_id) == scan_id
    assert "\u202e" not in db_session.get(ConsentEvidence, record.evidence_id).filename


def test_another_pupils_scan_cannot_be_used_or_downloaded(client, db_session, office, amelia):
    zoe = db_session.scalar(select(Pupil).where(Pupil.mis_id == "A002"))
    theirs = evidence.keep_scan(db_session, office, zoe, "zoe.pdf", SCAN_PDF)
    db_session.commit()
    response = send(client, db_session, amelia, {"how": "paper", "scan_id": str(theirs.id)})
    assert response.status_code == 422
    assert "Add the scanned paper form" in text_of(response)
    assert client.get(f"/staff/pupils/{amelia.id}/scans/{theirs.id}").status_code == 404
    assert client.get(f"/staff/pupils/{zoe.id}/scans/{theirs.id}").status_code == 200
    assert client.get(f"/staff/pupils/{zoe.id}/scans/{2**40}").status_code == 404
    with pytest.raises(answers.AnswerRefused):
        answers.record_answers(
            db_session,
            office,
            amelia,
            sarah(db_session),
            answers.AnswerHow.paper,
            [Answer(purposes(db_session)[0], True, None)],
            scan_id=theirs.id,
        )


@pytest.mark.parametrize("role", list(Role))
def test_only_the_roles_that_see_the_pupil_page_download_a_scan(
    client, db_session, office, amelia, role
):
    kept = evidence.keep_scan(db_session, office, amelia, "form.pdf", SCAN_PDF)
    db_session.commit()
    client.cookies.clear()
    sign_in(client, make_user(db_session, role))
    pupil_page = client.get(f"/staff/pupils/{amelia.id}").status_code
    scan = client.get(f"/staff/pupils/{amelia.id}/scans/{kept.id}").status_code
    assert pupil_page in (200, 403)
    assert scan == (200 if pupil_page == 200 else 403)
    assert (scan == 200) == (role in (Role.office, Role.admin, Role.head))


@pytest.mark.parametrize("filename", HOSTILE_FILENAMES)
def test_hostile_file_names_are_kept_safe(client, db_session, amelia, filename):
    response = send(
        client, db_session, amelia, {"how": "paper"}, {"scan_file": (filename, SCAN_PDF, "x")}
    )
    if not filename:  # what a browser sends when no file was chosen
        assert response.status_code == 422
        assert "Add the scanned paper form" in text_of(response)
        return
    if len(filename) > 1000:  # the request's own part header is refused, before the portal
        assert response.status_code == 400
        return
    assert response.status_code == 303
    kept = db_session.scalar(select(ConsentEvidence))
    assert kept.filename.endswith(".pdf") and len(kept.filename) <= 130
    assert "/" not in kept.filename and "\r" not in kept.filename
    download = client.get(f"/staff/pupils/{amelia.id}/scans/{kept.id}")
    assert download.status_code == 200


def test_online_answers_need_no_evidence(db_session, office, amelia):
    made = answers.record_answers(
        db_session,
        office,
        amelia,
        sarah(db_session),
        answers.AnswerHow.online,
        [Answer(purposes(db_session)[0], True, None)],
    )
    assert made[0].evidence_id is None


@pytest.mark.parametrize("value", HOSTILE_TEXT[::2])
def test_hostile_answers_form_input_is_a_message_never_a_failure(client, db_session, amelia, value):
    response = send(
        client,
        db_session,
        amelia,
        {
            "how": value,
            "contact_id": value,
            "scan_id": value,
            "call_note": value,
            "answer_video": value,
            "naming_website": value,
            "answer_" + value[:30]: value,
        },
    )
    assert response.status_code in (303, 422), response.status_code
    if response.status_code == 422:
        assert page(response).select_one(".govuk-error-summary") is not None
        kept_note = page(response).select_one("#call_note").text.strip()
        assert kept_note == clean_text(value).strip()  # what was typed comes back
    for record in db_session.scalars(select(ConsentRecord)):
        kept = db_session.get(ConsentEvidence, record.evidence_id)
        assert "\x00" not in kept.call_note and "\u202e" not in kept.call_note
