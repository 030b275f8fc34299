"""The parent's journey to raise a concern or complaint, through HTTP and the parsed pages."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from sqlalchemy import func, select

from portal import mail
from portal.accounts.models import Role
from portal.calendar import format_date
from portal.complaints import form_views, services
from portal.complaints.models import About, Attachment, Complaint, ComplaintDraft, Stage, Status
from portal.complaints.services import ComplaintError, NewComplaint
from portal.mail import SECRET_PLACEHOLDER, OutboxMessage, OutboxStatus
from tests.conftest import csrf_of, page, text_of
from tests.factories import answer, answer_steps, change_school, make_user, send, sign_in, upload

REFERENCE = re.compile(r"^C-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{3}$")
WHAT_HAPPENED = "My son was pushed over in the playground and nobody told me about it."
PARENT = {
    "parent_name": "Sam Parent",
    "parent_email": "sam.parent@example.com",
    "parent_phone": "07700 900123",
    "child_name": "Alex Parent",
}


@pytest.fixture
def settings(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"
    return settings


# ---------------------------------------------------------------- helpers


def answer_up_to_contact(client, **overrides) -> None:
    steps = [
        ("kind", {"kind": overrides.get("kind", "complaint")}),
        ("about", {"about": "staff", "about_name": "Mr Jones"}),
        ("category", {"category": "Behaviour and bullying"}),
        (
            "what-happened",
            {
                "what_happened": WHAT_HAPPENED,
                "happened_on-day": "20",
                "happened_on-month": "11",
                "happened_on-year": "2026",
            },
        ),
        ("done-so-far", {"done_so_far": "I spoke to the class teacher."}),
        ("put-right", {"put_right": "Tell me the same day next time."}),
    ]
    answer_steps(client, steps)


def fill_in(client, *, contact: dict | None = None, **overrides) -> None:
    answer_up_to_contact(client, **overrides)
    response = answer(client, "contact", contact if contact is not None else PARENT)
    assert response.status_code == 303, text_of(response)
    assert response.headers["location"] == "/complaints/new/check"


def assert_title_is_h1(response) -> None:
    html = page(response)
    h1 = " ".join(html.select_one("h1").get_text(" ").split())
    title = " ".join(html.title.get_text().split())
    assert title.removeprefix("Error: ").startswith(h1 + " –"), (title, h1)
    assert len(html.select("h1")) == 1


def png_bytes(**info: str) -> bytes:
    buffer = io.BytesIO()
    metadata = PngInfo()
    for key, value in info.items():
        metadata.add_text(key, value)
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG", pnginfo=metadata)
    return buffer.getvalue()


def jpeg_with_location() -> bytes:
    image = Image.new("RGB", (8, 8), "blue")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def complaints(db_session) -> list[Complaint]:
    db_session.expire_all()
    return list(db_session.scalars(select(Complaint)))


def outbox(db_session) -> list[OutboxMessage]:
    db_session.expire_all()
    return list(db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


# ---------------------------------------------------------------- the start page


def test_start_page_explains_timescales_other_procedures_and_safeguarding(client, app):
    school = change_school(app, acknowledge_within_days=4, escalation_window_days=12)
    response = client.get("/complaints/new")
    assert response.status_code == 200
    assert_title_is_h1(response)
    words = text_of(response)
    assert "within 4 school days" in words
    assert f"within {school.stage1_response_days} school days" in words
    assert "within 12 school days of the letter" in words
    assert f"within {school.stage2_outcome_days} school days" in words
    for procedure in school.out_of_scope:
        assert procedure.name in words
        assert procedure.where in words
    assert "999" in words and school.contact_phone in words
    start = page(response).select_one("a.govuk-button--start")
    assert start.get_text(strip=True).startswith("Start now")
    assert start["href"] == "/complaints/new/kind"


# ---------------------------------------------------------------- the whole journey


def test_full_journey_records_the_complaint_and_queues_the_email(client, db_session, settings):
    answer_up_to_contact(client)
    assert upload(client, "letter.pdf", PDF).status_code == 303
    response = answer(client, "contact", PARENT)
    assert response.headers["location"] == "/complaints/new/check"

    check = client.get("/complaints/new/check")
    assert_title_is_h1(check)
    summary = text_of(check)
    for expected in (
        "A formal complaint",
        "A member of staff: Mr Jones",
        "Behaviour and bullying",
        WHAT_HAPPENED,
        "Friday 20 November 2026",
        "I spoke to the class teacher.",
        "Tell me the same day next time.",
        "letter.pdf",
        "Sam Parent",
        "sam.parent@example.com",
    ):
        assert expected in summary

    sent = send(client)
    assert sent.status_code == 303
    assert sent.headers["location"] == "/complaints/new/done"

    [complaint] = complaints(db_session)
    assert complaint.stage == Stage.stage1
    assert complaint.asked_for_formal is True
    assert complaint.about == About.staff
    assert complaint.about_name == "Mr Jones"
    assert complaint.category == "Behaviour and bullying"
    assert complaint.what_happened == WHAT_HAPPENED
    assert complaint.happened_on == date(2026, 11, 20)
    assert complaint.done_so_far == "I spoke to the class teacher."
    assert complaint.put_right == "Tell me the same day next time."
    assert complaint.anonymous is False
    assert complaint.parent_name == "Sam Parent"
    assert complaint.parent_email == "sam.parent@example.com"
    assert complaint.parent_phone == "07700 900123"
    assert complaint.child_name == "Alex Parent"
    [attachment] = db_session.scalars(select(Attachment)).all()
    assert attachment.complaint_id == complaint.id
    assert attachment.draft_id is None
    assert db_session.scalar(select(func.count()).select_from(ComplaintDraft)) == 0

    done = client.get("/complaints/new/done")
    assert done.status_code == 200
    assert_title_is_h1(done)
    html = page(done)
    assert html.select_one("h1").get_text(strip=True) == "Complaint sent"
    reference = html.select_one(".govuk-panel__body strong").get_text(strip=True)
    assert REFERENCE.match(reference)
    assert reference == complaint.reference
    words = text_of(done)
    assert "We have sent an email to sam.parent@example.com" in words
    assert f"We will contact you by {format_date(complaint.next_deadline)}" in words
    link = html.select_one("#private-link")["href"]
    token = link.rsplit("/track/", 1)[1]
    assert services.find_by_token(db_session, token).id == complaint.id
    assert "?" not in link

    [email] = outbox(db_session)
    assert email.to_address == "sam.parent@example.com"
    assert email.status == "queued"
    assert reference in email.subject
    # The private link is never stored where staff can read it: it is sealed until sent.
    assert link not in email.body_text and token not in email.body_text
    assert SECRET_PLACEHOLDER in email.body_text
    assert token not in (email.sealed_secret or "")
    delivered = mail._build_email(email, settings, email.created_at).get_content()
    assert link in delivered and SECRET_PLACEHOLDER not in delivered


def test_anonymous_journey_sends_no_email_and_shows_the_private_link(client, db_session):
    fill_in(
        client, contact={**PARENT, "anonymous": "yes", "anonymous_child": "keep"}, kind="concern"
    )
    check = text_of(client.get("/complaints/new/check"))
    assert "You are staying anonymous" in check
    assert "sam.parent@example.com" not in check
    assert send(client).status_code == 303

    [complaint] = complaints(db_session)
    assert complaint.anonymous is True
    assert complaint.stage == Stage.concern
    assert complaint.parent_name == "" and complaint.parent_email == ""
    assert complaint.parent_phone == ""
    assert outbox(db_session) == []

    done = client.get("/complaints/new/done")
    html = page(done)
    assert html.select_one("h1").get_text(strip=True) == "Concern sent"
    words = text_of(done)
    assert "it is the only way to follow your case" in words
    assert "We have sent an email" not in words
    link = html.select_one("#private-link")["href"]
    assert services.find_by_token(db_session, link.rsplit("/", 1)[1]).id == complaint.id


@pytest.mark.committed
def test_submission_is_committed_before_the_confirmation_is_shown(client, app, settings):
    fill_in(client)
    sent = send(client)
    assert sent.status_code == 303
    with app.state.sessions() as other:
        [complaint] = other.scalars(select(Complaint)).all()
        [email] = other.scalars(select(OutboxMessage)).all()
    assert not settings.smtp_configured
    assert email.status == "queued"
    done = client.get("/complaints/new/done")
    assert complaint.reference in text_of(done)


def test_a_crash_after_the_commit_loses_neither_the_complaint_nor_its_email(
    client, db_session, monkeypatch
):
    fill_in(client)

    def broken(*args, **kwargs):
        raise RuntimeError("the confirmation could not be shown")

    monkeypatch.setattr(form_views, "_set_done_cookie", broken)
    crashed = send(client)
    assert crashed.status_code == 500
    [complaint] = complaints(db_session)
    [email] = outbox(db_session)
    assert email.status == "queued"
    assert complaint.reference in email.subject


def test_a_crash_on_the_done_page_loses_nothing(client, db_session, monkeypatch):
    fill_in(client)
    assert send(client).status_code == 303
    monkeypatch.setattr(
        form_views.services, "find_by_token", lambda *a: (_ for _ in ()).throw(RuntimeError())
    )
    assert client.get("/complaints/new/done").status_code == 500
    assert len(complaints(db_session)) == 1
    assert [m.status for m in outbox(db_session)] == ["queued"]


def test_done_page_without_its_cookie_goes_back_to_the_start(client):
    response = client.get("/complaints/new/done", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/complaints/new"


def test_done_page_explains_a_complaint_received_on_a_closed_day(client, db_session, clock):
    fill_in(client)
    clock.set(datetime(2026, 11, 21, 10, 0))
    assert send(client).status_code == 303
    [complaint] = complaints(db_session)
    assert complaint.received_on == date(2026, 11, 23)
    words = text_of(client.get("/complaints/new/done"))
    assert "counts as received on Monday 23 November 2026, the next school day" in words


def test_a_persistent_complainant_is_told_by_email_and_the_page_reveals_nothing(
    client, db_session, settings
):
    """Anyone can type a parent's address: the page must not give away their earlier case."""
    head = make_user(db_session, Role.head, name="David Head")
    earlier = services.submit(
        db_session,
        settings,
        NewComplaint(
            formal=True,
            about=About.school,
            about_name="",
            category="Behaviour and bullying",
            what_happened="The same thing I have written about many times before.",
            happened_on=None,
            done_so_far="",
            put_right="",
            anonymous=False,
            parent_name="Sam Parent",
            parent_email="sam.parent@example.com",
        ),
    ).complaint
    db_session.commit()
    services.mark_persistent(
        db_session, settings, earlier, head, "Raised the same matter eleven times."
    )
    db_session.commit()

    fill_in(client)
    assert send(client).status_code == 303
    words = text_of(client.get("/complaints/new/done"))
    assert earlier.reference not in words
    assert "earlier matter" not in words
    [told] = [
        m
        for m in db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        if "earlier matter" in m.subject
    ]
    assert told.to_address == "sam.parent@example.com"
    assert f"earlier matter ({earlier.reference}) is complete" in told.body_text
    assert "If what you have sent now is about something new, we will look at it" in told.body_text


# ---------------------------------------------------------------- each question


def test_each_page_shows_what_was_saved_when_the_parent_goes_back(client):
    fill_in(client)
    kind = page(client.get("/complaints/new/kind"))
    assert kind.select_one("input[name=kind][value=complaint]").has_attr("checked")
    about = page(client.get("/complaints/new/about"))
    assert about.select_one("input[name=about][value=staff]").has_attr("checked")
    assert about.select_one("#about_name")["value"] == "Mr Jones"
    category = page(client.get("/complaints/new/category"))
    assert category.select_one("input[value='Behaviour and bullying']").has_attr("checked")
    what = page(client.get("/complaints/new/what-happened"))
    assert what.select_one("#what_happened").get_text() == WHAT_HAPPENED
    assert what.select_one("#happened_on-day")["value"] == "20"
    assert what.select_one("#happened_on-month")["value"] == "11"
    assert what.select_one("#happened_on-year")["value"] == "2026"
    done_so_far = page(client.get("/complaints/new/done-so-far"))
    assert done_so_far.select_one("#done_so_far").get_text() == "I spoke to the class teacher."
    contact = page(client.get("/complaints/new/contact"))
    assert contact.select_one("#parent_email")["value"] == "sam.parent@example.com"
    assert contact.select_one(".govuk-back-link")["href"] == "/complaints/new/attachments"


@pytest.mark.parametrize(
    "step",
    [
        "kind",
        "about",
        "category",
        "what-happened",
        "done-so-far",
        "put-right",
        "attachments",
        "contact",
        "check",
    ],
)
def test_every_question_page_has_one_heading_matching_its_title(client, step):
    fill_in(client)
    response = client.get(f"/complaints/new/{step}")
    assert response.status_code == 200
    assert_title_is_h1(response)
    assert page(response).select_one("form input[name=csrf_token]")


def test_skipping_ahead_goes_to_the_first_unanswered_question(client):
    response = client.get("/complaints/new/contact", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/complaints/new/kind"
    answer(client, "kind", {"kind": "concern"})
    answer(client, "about", {"about": "school"})
    response = client.get("/complaints/new/check", follow_redirects=False)
    assert response.headers["location"] == "/complaints/new/category"
    response = client.get("/complaints/new/put-right", follow_redirects=False)
    assert response.headers["location"] == "/complaints/new/category"


def test_change_link_returns_to_check_your_answers(client, db_session):
    fill_in(client)
    check = page(client.get("/complaints/new/check"))
    change = check.select_one("a[href='/complaints/new/category?from=check']")
    assert change is not None
    assert "what it is about" in change.get_text(" ")
    response = answer(client, "category", {"category": "Food and lunchtimes"}, from_check=True)
    assert response.status_code == 303
    assert response.headers["location"] == "/complaints/new/check"
    assert "Food and lunchtimes" in text_of(client.get("/complaints/new/check"))


def _errors(response) -> dict[str, str]:
    html = page(response)
    summary = html.select_one(".govuk-error-summary")
    assert summary is not None
    links = {a["href"]: a.get_text(strip=True) for a in summary.select("a")}
    for href in links:
        assert html.select_one(href) is not None, f"error link {href} points at nothing"
    return links


def test_kind_must_be_chosen(client):
    response = answer(client, "kind", {})
    assert response.status_code == 422
    assert page(response).title.get_text().startswith("Error: ")
    assert _errors(response) == {"#kind": "Select whether this is a concern or a formal complaint"}


def test_about_must_be_chosen_and_the_typed_name_is_kept(client):
    answer(client, "kind", {"kind": "concern"})
    response = answer(client, "about", {"about_name": "Mrs Governor"})
    assert response.status_code == 422
    assert _errors(response) == {"#about": "Select who your concern or complaint is about"}
    assert page(response).select_one("#about_name")["value"] == "Mrs Governor"


def test_category_must_be_one_of_the_schools(client):
    answer(client, "kind", {"kind": "concern"})
    answer(client, "about", {"about": "head"})
    response = answer(client, "category", {"category": "Not a real category"})
    assert response.status_code == 422
    assert _errors(response) == {"#category": "Select what your concern or complaint is about"}


@pytest.mark.parametrize(
    ("day", "month", "year", "link", "message"),
    [
        ("31", "2", "2026", "#happened_on-day", "Enter a real date, like 20 11 2026"),
        ("3", "", "2026", "#happened_on-month", "The date must include a month"),
        ("3", "4", "26", "#happened_on-year", "The year must have 4 numbers, like 2026"),
        ("1", "1", "2027", "#happened_on-day", "The date it happened must be today or in the past"),
    ],
)
def test_what_happened_dates_must_be_real_and_not_in_the_future(
    client, day, month, year, link, message
):
    answer(client, "kind", {"kind": "concern"})
    answer(client, "about", {"about": "school"})
    answer(client, "category", {"category": "Uniform and equipment"})
    response = answer(
        client,
        "what-happened",
        {
            "what_happened": WHAT_HAPPENED,
            "happened_on-day": day,
            "happened_on-month": month,
            "happened_on-year": year,
        },
    )
    assert response.status_code == 422
    assert _errors(response) == {link: message}
    html = page(response)
    assert html.select_one("#what_happened").get_text() == WHAT_HAPPENED
    assert html.select_one("#happened_on-day")["value"] == day
    assert html.select_one("#happened_on-year")["value"] == year
    assert html.select_one(link)["class"].count("govuk-input--error") == 1


def test_what_happened_needs_a_description_and_the_date_is_optional(client):
    answer(client, "kind", {"kind": "concern"})
    answer(client, "about", {"about": "school"})
    answer(client, "category", {"category": "Uniform and equipment"})
    response = answer(client, "what-happened", {"what_happened": "bad"})
    assert response.status_code == 422
    assert _errors(response) == {"#what_happened": "Tell us what happened"}
    assert page(response).select_one("#what_happened").get_text() == "bad"
    response = answer(client, "what-happened", {"what_happened": WHAT_HAPPENED})
    assert response.status_code == 303
    assert response.headers["location"] == "/complaints/new/done-so-far"


def test_optional_answers_have_a_sensible_length_and_are_kept(client):
    answer_up_to_contact(client)
    essay = "We would like an apology. " * 400
    response = answer(client, "put-right", {"put_right": essay})
    assert response.status_code == 422
    assert _errors(response) == {
        "#put_right": "What would put it right must be 10,000 characters or fewer"
    }
    assert page(response).select_one("#put_right").get_text() == essay


def test_contact_details_are_checked_and_kept(client):
    answer_up_to_contact(client)
    response = answer(
        client,
        "contact",
        {"parent_name": "", "parent_email": "sam.example.com", "parent_phone": "call me"},
    )
    assert response.status_code == 422
    assert _errors(response) == {
        "#parent_name": "Enter your full name",
        "#parent_email": "Enter an email address in the correct format, like name@example.com",
        "#parent_phone": (
            "Enter a phone number using numbers only, like 01632 960 001 or 07700 900 982"
        ),
    }
    html = page(response)
    assert html.select_one("#parent_email")["value"] == "sam.example.com"
    assert html.select_one("#parent_phone")["value"] == "call me"
    response = answer(client, "contact", {"parent_name": "Sam Parent"})
    assert _errors(response) == {"#parent_email": "Enter your email address"}


def test_the_contact_page_explains_staying_anonymous_honestly(client):
    answer_up_to_contact(client)
    words = text_of(client.get("/complaints/new/contact"))
    assert "we may not be able to look into it properly, or reply to you" in words
    assert "we cannot email you" in words
    assert "the school decides whether to look into it" in words


def test_a_refusal_at_sending_takes_the_parent_back_to_the_question(client, monkeypatch):
    fill_in(client)

    def refuse(*args, **kwargs):
        raise ComplaintError("parent_email", "Enter your email address again")

    monkeypatch.setattr(services, "submit", refuse)
    response = send(client)
    assert response.status_code == 422
    assert _errors(response) == {"#parent_email": "Enter your email address again"}
    html = page(response)
    assert html.select_one("#parent_email")["value"] == "sam.parent@example.com"
    assert html.select_one("input[name=from]")["value"] == "check"


# ---------------------------------------------------------------- files


def _stored_files(settings) -> list[Path]:
    folder = Path(settings.attachments_dir)
    return sorted(folder.iterdir()) if folder.exists() else []


def test_upload_page_is_a_multipart_form(client):
    answer_up_to_contact(client)
    html = page(client.get("/complaints/new/attachments"))
    form = html.select_one("input[type=file]").find_parent("form")
    assert form["enctype"] == "multipart/form-data"


def test_a_program_pretending_to_be_a_pdf_is_refused_and_nothing_is_lost(
    client, db_session, settings
):
    answer_up_to_contact(client)
    assert upload(client, "letter.pdf", PDF).status_code == 303
    response = upload(client, "homework.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200)
    assert response.status_code == 422
    assert _errors(response) == {
        "#file": "homework.pdf must be a PDF, JPG, PNG or Word (.docx) file"
    }
    assert "letter.pdf" in text_of(response)
    assert len(_stored_files(settings)) == 1
    what = page(client.get("/complaints/new/what-happened"))
    assert what.select_one("#what_happened").get_text() == WHAT_HAPPENED


def test_a_picture_named_like_a_word_file_is_kept_as_a_picture(client, db_session):
    answer_up_to_contact(client)
    assert upload(client, "report.docx", png_bytes()).status_code == 303
    [attachment] = db_session.scalars(select(Attachment)).all()
    assert attachment.content_type == "image/png"
    assert attachment.filename == "report.png"
    assert "report.png" in text_of(client.get("/complaints/new/attachments"))


def test_a_word_file_is_accepted(client, db_session):
    answer_up_to_contact(client)
    assert upload(client, "notes.docx", docx_bytes()).status_code == 303
    [attachment] = db_session.scalars(select(Attachment)).all()
    assert attachment.filename == "notes.docx"


def test_a_file_over_10_mb_is_refused(client, settings):
    answer_up_to_contact(client)
    big = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024)
    response = upload(client, "scan.pdf", big)
    assert response.status_code == 422
    assert _errors(response) == {"#file": "scan.pdf must be smaller than 10 MB"}
    assert _stored_files(settings) == []


def test_a_sixth_file_is_refused_and_the_five_are_kept(client, db_session, settings):
    answer_up_to_contact(client)
    for number in range(5):
        assert upload(client, f"page{number}.pdf", PDF).status_code == 303
    html = page(client.get("/complaints/new/attachments"))
    assert html.select_one("input[type=file]") is None
    assert "the most you can send" in text_of(client.get("/complaints/new/attachments"))
    response = upload(client, "page6.pdf", PDF)
    assert response.status_code == 422
    assert "page6.pdf was not added: you can send up to 5 files" in _errors(response)["#file"]
    assert db_session.scalar(select(func.count()).select_from(Attachment)) == 5
    assert len(_stored_files(settings)) == 5


def test_metadata_is_stripped_from_pictures(client, db_session, settings):
    answer_up_to_contact(client)
    assert upload(client, "garden.jpg", jpeg_with_location()).status_code == 303
    assert upload(client, "note.png", png_bytes(Author="Sam", Location="Home")).status_code == 303
    stored = {a.filename: a for a in db_session.scalars(select(Attachment))}
    folder = Path(settings.attachments_dir)
    with Image.open(folder / stored["garden.jpg"].storage_key) as jpeg:
        assert not jpeg.getexif()
        assert "exif" not in jpeg.info
    with Image.open(folder / stored["note.png"].storage_key) as png:
        assert "Author" not in png.info and "Location" not in png.info


def test_a_file_can_be_removed(client, db_session, settings):
    answer_up_to_contact(client)
    upload(client, "one.pdf", PDF)
    upload(client, "two.pdf", PDF)
    html = page(client.get("/complaints/new/attachments"))
    forms = html.select("form[action$='/remove']")
    assert len(forms) == 2
    button = forms[0].select_one("button")
    assert button.get_text(" ", strip=True) == "Remove one.pdf"
    form_page = client.get("/complaints/new/attachments")
    response = client.post(
        forms[0]["action"], data={"csrf_token": csrf_of(form_page)}, follow_redirects=False
    )
    assert response.status_code == 303
    words = text_of(client.get("/complaints/new/attachments"))
    assert "one.pdf" not in words and "two.pdf" in words
    assert len(_stored_files(settings)) == 1


def test_someone_else_cannot_remove_a_file(client, app, db_session):
    answer_up_to_contact(client)
    upload(client, "one.pdf", PDF)
    [attachment] = db_session.scalars(select(Attachment)).all()
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as stranger:
        form_page = stranger.get("/complaints/new/kind")
        response = stranger.post(
            f"/complaints/new/attachments/{attachment.id}/remove",
            data={"csrf_token": csrf_of(form_page)},
            follow_redirects=False,
        )
    assert response.status_code == 404
    assert db_session.scalar(select(func.count()).select_from(Attachment)) == 1


def test_continue_without_a_file_goes_on_and_add_without_one_asks_for_it(client):
    answer_up_to_contact(client)
    form_page = client.get("/complaints/new/attachments")
    response = client.post(
        "/complaints/new/attachments",
        data={"csrf_token": csrf_of(form_page), "action": "continue"},
        files={"file": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/complaints/new/contact"
    response = client.post(
        "/complaints/new/attachments",
        data={"csrf_token": csrf_of(form_page), "action": "add"},
        files={"file": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert _errors(response) == {"#file": "Select a file to add"}


# ---------------------------------------------------------------- bots and floods


def test_suspected_junk_is_kept_held_and_office_can_release_it(client, db_session, settings):
    """A filled hidden field no longer means a fake "sent" page: the case is kept, held."""
    answer_up_to_contact(client)
    upload(client, "letter.pdf", PDF)
    answer(client, "contact", PARENT)
    check = page(client.get("/complaints/new/check"))
    trap = check.select_one("input[name=website]")
    assert trap["tabindex"] == "-1" and trap["autocomplete"] == "off"
    assert check.select_one("label[for=website]") is not None
    wrapper = trap.find_parent("div")
    assert wrapper["aria-hidden"] == "true" and "govuk-visually-hidden" in wrapper["class"]

    response = send(client, website="https://spam.example")
    assert response.status_code == 303
    done = client.get("/complaints/new/done")
    assert done.status_code == 200
    assert page(done).select_one("h1").get_text(strip=True) == "Complaint sent"
    reference = page(done).select_one(".govuk-panel__body strong").get_text(strip=True)
    [held] = complaints(db_session)
    assert held.reference == reference
    assert held.status == Status.held and not held.is_active
    assert db_session.scalar(select(func.count()).select_from(Attachment)) == 1
    [acknowledgement] = outbox(db_session)
    assert acknowledgement.status == OutboxStatus.held

    office = make_user(db_session, Role.office, name="Olive Office")
    sign_in(client, office)
    queue = text_of(client.get("/staff/complaints?status=held"))
    assert reference in queue
    case_page = client.get(f"/staff/complaints/{reference}")
    assert "Held: this may be junk" in text_of(case_page)
    released = client.post(
        f"/staff/complaints/{reference}/release",
        data={"csrf_token": csrf_of(case_page)},
        follow_redirects=False,
    )
    assert released.status_code == 303
    db_session.expire_all()
    assert db_session.get(Complaint, held.id).status == Status.new
    assert db_session.get(OutboxMessage, acknowledgement.id).status == OutboxStatus.queued


def test_too_many_submissions_from_one_address_are_refused_and_the_draft_kept(
    client, db_session, settings
):
    settings.submissions_per_hour_per_address = 2
    for _ in range(2):
        fill_in(client)
        assert send(client).status_code == 303
    fill_in(client)
    refused = send(client)
    assert refused.status_code == 429
    assert_title_is_h1(refused)
    assert "We have kept your answers" in text_of(refused)
    assert len(complaints(db_session)) == 2
    assert db_session.scalar(select(func.count()).select_from(ComplaintDraft)) == 1
    assert "Sam Parent" in text_of(client.get("/complaints/new/check"))


def test_every_form_is_protected_against_cross_site_requests(client):
    response = client.post("/complaints/new/kind", data={"kind": "concern"})
    assert response.status_code == 403


def test_the_check_page_shows_the_parents_words_not_markup(client):
    fill_in(client)
    response = client.get("/complaints/new/check")
    words = text_of(response)
    assert "<span" not in words and "&lt;" not in response.text
    value = page(response).select_one(".school-pre")
    assert value is not None and value.get("dir") == "auto"
