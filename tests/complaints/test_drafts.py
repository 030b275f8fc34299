"""Drafts: a parent's answers kept on the server between pages, tied to a cookie, for 7 days."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.complaints import attachments, drafts, services
from portal.complaints.models import Attachment, Complaint, ComplaintDraft
from portal.db import now_of
from tests.conftest import csrf_of, page, post_form, text_of
from tests.factories import answer_steps, upload

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
WHAT_HAPPENED = "The school trip was cancelled and we were not told why."


@pytest.fixture
def settings(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"
    return settings


def start_draft(client) -> None:
    answer_steps(
        client,
        [
            ("kind", {"kind": "concern"}),
            ("about", {"about": "school"}),
            ("category", {"category": "School trips and activities"}),
            ("what-happened", {"what_happened": WHAT_HAPPENED}),
        ],
    )


def add_file(client, name: str = "letter.pdf") -> None:
    assert upload(client, name, PDF, media_type="application/pdf").status_code == 303


def only_draft(db_session) -> ComplaintDraft:
    db_session.expire_all()
    return db_session.scalars(select(ComplaintDraft)).one()


def test_the_cookie_is_private_and_only_its_hash_is_stored(client, db_session):
    response = post_form(client, "/complaints/new/kind", {"kind": "concern"})
    cookie = next(
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith(drafts.DRAFT_COOKIE + "=")
    )
    attributes = cookie.lower()
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/complaints/new" in attributes
    assert "secure" not in attributes
    token = client.cookies.get(drafts.DRAFT_COOKIE)
    assert len(token) >= 40
    draft = only_draft(db_session)
    assert draft.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in draft.answers
    assert json.loads(draft.answers) == {"kind": "concern"}


def test_the_cookie_is_secure_when_the_portal_uses_https(settings, app):
    settings.base_url = "https://portal.school.example"
    with TestClient(app, base_url="https://testserver") as client:
        response = post_form(client, "/complaints/new/kind", {"kind": "concern"})
    cookie = next(
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith(drafts.DRAFT_COOKIE + "=")
    )
    assert "secure" in cookie.lower()


def test_a_draft_survives_closing_the_browser(client, app):
    start_draft(client)
    token = client.cookies.get(drafts.DRAFT_COOKIE)
    with TestClient(app, raise_server_exceptions=False) as later:
        later.cookies.set(drafts.DRAFT_COOKIE, token, path="/complaints/new")
        what = later.get("/complaints/new/what-happened")
        assert page(what).select_one("#what_happened").get_text() == WHAT_HAPPENED
        response = later.get("/complaints/new/done-so-far", follow_redirects=False)
        assert response.status_code == 200


def test_a_new_browser_without_the_cookie_starts_again(client, app):
    start_draft(client)
    with TestClient(app, raise_server_exceptions=False) as stranger:
        response = stranger.get("/complaints/new/done-so-far", follow_redirects=False)
    assert response.headers["location"] == "/complaints/new/kind"


def test_each_answer_keeps_the_draft_for_another_7_days(client, db_session):
    start_draft(client)
    draft = only_draft(db_session)
    assert draft.expires_at - draft.updated_at == timedelta(days=7)
    assert abs(draft.expires_at - (now_of(db_session) + timedelta(days=7))) < timedelta(minutes=1)
    answers = json.loads(draft.answers)
    assert answers["category"] == "School trips and activities"
    assert answers["what_happened"] == WHAT_HAPPENED


def test_an_expired_draft_counts_as_gone(client, db_session):
    start_draft(client)
    draft = only_draft(db_session)
    draft.expires_at = now_of(db_session) - timedelta(seconds=1)
    db_session.add(draft)
    db_session.commit()
    kind = page(client.get("/complaints/new/kind"))
    assert not kind.select("input[name=kind][checked]")
    response = client.get("/complaints/new/check", follow_redirects=False)
    assert response.headers["location"] == "/complaints/new/kind"


def test_a_refused_answer_does_not_change_the_saved_one(client, db_session):
    start_draft(client)
    response = post_form(client, "/complaints/new/what-happened", {"what_happened": "no"})
    assert response.status_code == 422
    assert json.loads(only_draft(db_session).answers)["what_happened"] == WHAT_HAPPENED


def test_purge_removes_expired_drafts_and_their_files_only(client, app, db_session, settings):
    start_draft(client)
    add_file(client, "old.pdf")
    with TestClient(app, raise_server_exceptions=False) as other:
        start_draft(other)
        add_file(other, "current.pdf")
    folder = Path(settings.attachments_dir)
    assert len(list(folder.iterdir())) == 2

    old_hash = drafts.find(db_session, client.cookies.get(drafts.DRAFT_COOKIE)).token_hash
    later = now_of(db_session) + timedelta(days=3)
    old = db_session.get(ComplaintDraft, old_hash)
    old.expires_at = later - timedelta(minutes=1)
    db_session.add(old)
    db_session.commit()

    assert drafts.purge_expired(db_session, later, settings) == 1
    db_session.commit()
    assert db_session.get(ComplaintDraft, old_hash) is None
    assert db_session.scalar(select(func.count()).select_from(ComplaintDraft)) == 1
    [kept] = db_session.scalars(select(Attachment)).all()
    assert kept.filename == "current.pdf"
    assert [p.name for p in folder.iterdir()] == [kept.storage_key]
    assert "old.pdf" not in text_of(
        client.get("/complaints/new/attachments", follow_redirects=True)
    )


def test_purge_removes_old_files_whose_draft_has_gone(db_session, settings):
    stray = attachments.store(
        db_session, settings, filename="stray.pdf", content=PDF, draft_id="0" * 64
    )
    stray.uploaded_at = now_of(db_session) - timedelta(days=8)
    recent = attachments.store(
        db_session, settings, filename="recent.pdf", content=PDF, draft_id="1" * 64
    )
    db_session.commit()
    assert drafts.purge_expired(db_session, now_of(db_session), settings) == 0
    db_session.commit()
    assert [a.id for a in db_session.scalars(select(Attachment))] == [recent.id]
    assert not (Path(settings.attachments_dir) / stray.storage_key).exists()


def test_sending_deletes_the_draft_but_not_its_files(client, db_session):
    start_draft(client)
    add_file(client)
    for step, data in [
        ("done-so-far", {"done_so_far": ""}),
        ("put-right", {"put_right": ""}),
        ("contact", {"anonymous": "yes"}),
    ]:
        assert post_form(client, f"/complaints/new/{step}", data).status_code == 303
    check = client.get("/complaints/new/check")
    response = client.post(
        "/complaints/new/submit",
        data={"csrf_token": csrf_of(check)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert any(
        header.startswith(drafts.DRAFT_COOKIE + '=""')
        for header in response.headers.get_list("set-cookie")
    )
    assert db_session.scalar(select(func.count()).select_from(ComplaintDraft)) == 0
    [attachment] = db_session.scalars(select(Attachment)).all()
    assert attachment.complaint_id is not None
    again = client.get("/complaints/new/check", follow_redirects=False)
    assert again.headers["location"] == "/complaints/new/kind"


@pytest.mark.committed
def test_the_same_answers_sent_twice_at_once_make_one_case(app, client, db_session, monkeypatch):
    """A double click on "Send", or the check page open in two tabs: both requests read the
    draft before either has finished; one makes the case, the other goes back to the start."""
    start_draft(client)
    answer_steps(
        client,
        [
            ("done-so-far", {"done_so_far": ""}),
            ("put-right", {"put_right": ""}),
            ("contact", {"anonymous": "yes"}),
        ],
    )
    token = csrf_of(client.get("/complaints/new/check"))
    both_read = threading.Barrier(2, timeout=10)
    real_submit = services.submit

    def submit_once_both_have_read(*args, **kwargs):  # type: ignore[no-untyped-def]
        both_read.wait()
        return real_submit(*args, **kwargs)

    monkeypatch.setattr(services, "submit", submit_once_both_have_read)
    answers: list[str] = []

    def send() -> None:
        with TestClient(app, raise_server_exceptions=False, cookies=client.cookies) as tab:
            sent = tab.post(
                "/complaints/new/submit", data={"csrf_token": token}, follow_redirects=False
            )
            answers.append(f"{sent.status_code} {sent.headers.get('location')}")

    tabs = [threading.Thread(target=send) for _ in range(2)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join()

    assert sorted(answers) == ["303 /complaints/new/done", "303 /complaints/new/kind"]
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(Complaint)) == 1
    assert db_session.scalar(select(func.count()).select_from(ComplaintDraft)) == 0
