"""Parents sign in with a one-time emailed link: it works once, expires, reveals nothing about
other addresses, is throttled, and starts a short session that "Sign out" ends."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.consent.models import ParentSignIn
from portal.consent.parents import PARENT_COOKIE
from portal.mail import SECRET_PLACEHOLDER, OutboxMessage
from portal.security import PrivateLinkFilter
from portal.signing import Signer, token_digest
from tests.conftest import TEST_SECRET, csrf_of, page, text_of
from tests.consent.families import ask_for_link, last_link, sign_in_parent, two_families


@pytest.fixture
def family(db_session):
    return two_families(db_session)


def _emails_to(db_session, address: str) -> list[OutboxMessage]:
    db_session.expire_all()
    return list(
        db_session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == address))
    )


def _path(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def test_an_address_on_the_register_is_emailed_a_link_kept_out_of_the_outbox(
    client, db_session, family
):
    response = ask_for_link(client, "Sarah@Example.com")
    assert response.status_code == 200
    assert page(response).h1.text == "Check your email"
    [message] = _emails_to(db_session, "Sarah@example.com")
    assert SECRET_PLACEHOLDER in message.body_text
    assert "/photos/sign-in/" not in message.body_text
    assert "/photos" in message.body_text  # where to ask again: every consent email has it
    link = last_link(db_session, TEST_SECRET, "Sarah@example.com")
    assert link.startswith("http://127.0.0.1:8000/photos/sign-in/")
    token = link.rsplit("/", 1)[1]
    stored = db_session.scalars(select(ParentSignIn)).one()
    assert stored.token_hash == token_digest(token) and token not in stored.token_hash
    assert stored.expires_at - stored.created_at == timedelta(minutes=30)


def test_the_page_says_nothing_about_whether_an_address_is_on_the_register(
    client, db_session, family
):
    known = ask_for_link(client, "nisha@example.com")
    unknown = ask_for_link(client, "stranger@example.com")
    leaver_only = ask_for_link(client, "nobody-left@example.com")
    assert known.status_code == unknown.status_code == leaver_only.status_code == 200
    assert text_of(known).replace("nisha@example.com", "X") == text_of(unknown).replace(
        "stranger@example.com", "X"
    )
    assert set(known.headers) == set(unknown.headers)
    # Each address gets one email (the same steps either way); only the mailbox's owner learns.
    [to_unknown] = _emails_to(db_session, "stranger@example.com")
    assert to_unknown.sealed_secret is None
    assert "not on our list" in to_unknown.body_text
    assert len(_emails_to(db_session, "nisha@example.com")) == 1


def test_a_contact_whose_children_have_all_left_is_not_signed_in(client, db_session, family):
    from portal.consent.models import PupilContact

    for row in db_session.scalars(select(PupilContact)):
        if row.pupil_id != family.pupils["jack"].id:
            row.current = False
            db_session.add(row)
    db_session.commit()
    ask_for_link(client, "sarah@example.com")
    [message] = _emails_to(db_session, "sarah@example.com")
    assert message.sealed_secret is None and "not on our list" in message.body_text


def test_a_badly_typed_address_comes_back_with_what_to_do(client, family):
    for typed, message in (
        ("", "Enter your email address"),
        ("sarah@", "Enter an email address in the right form"),
        ("a@x.com, b@y.com", "Enter an email address in the right form"),
        ("x" * 5000, "Enter an email address in the right form"),
    ):
        response = ask_for_link(client, typed)
        assert response.status_code == 422
        assert message in text_of(response)
        assert page(response).select_one("#email")["value"] == typed


def test_a_link_works_once_and_signs_in_with_a_short_http_only_cookie(client, db_session, family):
    ask_for_link(client, "sarah@example.com")
    path = _path(last_link(db_session, TEST_SECRET, "sarah@example.com"))
    opened = client.get(path)  # opening it (an email scanner may) does not use it
    assert opened.status_code == 200
    opened_again = client.get(path)
    assert page(opened_again).h1.text == "Sign in to answer about photos"
    used = client.post(path, data={"csrf_token": csrf_of(opened_again)}, follow_redirects=False)
    assert used.status_code == 303 and used.headers["location"] == "/photos/answers"
    cookie = next(c for c in used.headers.get_list("set-cookie") if c.startswith(PARENT_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    answers = client.get("/photos/answers")
    assert answers.status_code == 200
    assert "Millie Jones" in text_of(answers) and "Lily Jones" in text_of(answers)
    # Used once: a second use (this browser or another) is refused and signs nobody in.
    client.cookies.clear()
    assert client.get(path).status_code == 410
    again = client.post(path, data={"csrf_token": csrf_of(client.get("/photos"))})
    assert again.status_code == 410
    assert "This link no longer works" in text_of(again)
    assert client.get("/photos/answers", follow_redirects=False).status_code == 303


def test_a_link_expires(client, db_session, family, clock):
    ask_for_link(client, "sarah@example.com")
    path = _path(last_link(db_session, TEST_SECRET, "sarah@example.com"))
    token = csrf_of(client.get(path))
    clock.advance(timedelta(minutes=30, seconds=1))
    assert client.get(path).status_code == 410
    response = client.post(path, data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 410
    assert PARENT_COOKIE not in response.headers.get("set-cookie", "")


def test_unknown_and_odd_links_are_the_same_gone_page(client, family):
    for token in ("nope", "x" * 5000, "%00", "\u202e" + "a" * 43):
        response = client.get(f"/photos/sign-in/{token}")
        assert response.status_code in (404, 410), token
    token = csrf_of(client.get("/photos"))
    assert client.post("/photos/sign-in/nope", data={"csrf_token": token}).status_code == 410


def test_the_session_ends_when_idle_and_moves_on_while_used(client, db_session, family, clock):
    sign_in_parent(client, db_session, TEST_SECRET, "sarah@example.com")
    for _ in range(3):
        clock.advance(timedelta(minutes=50))
        assert client.get("/photos/answers").status_code == 200
    clock.advance(timedelta(minutes=61))
    response = client.get("/photos/answers", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/photos?ended=1"
    assert "signed out because you had not used the page" in text_of(client.get("/photos?ended=1"))


def test_the_session_has_a_longest_life(client, db_session, family, clock):
    sign_in_parent(client, db_session, TEST_SECRET, "sarah@example.com")
    for _ in range(5):
        clock.advance(timedelta(minutes=50))
        client.get("/photos/answers")
    assert client.get("/photos/answers", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session_even_for_a_copied_cookie(client, db_session, family):
    sign_in_parent(client, db_session, TEST_SECRET, "sarah@example.com")
    copied = client.cookies.get(PARENT_COOKIE)
    answers = client.get("/photos/answers")
    signed_out = client.post(
        "/photos/sign-out", data={"csrf_token": csrf_of(answers)}, follow_redirects=False
    )
    assert signed_out.headers["location"] == "/photos?signed_out=1"
    assert "You have signed out" in text_of(client.get("/photos?signed_out=1"))
    client.cookies.set(PARENT_COOKIE, copied)
    assert client.get("/photos/answers", follow_redirects=False).status_code == 303


def test_a_forged_or_moved_cookie_signs_nobody_in(client, db_session, family):
    sign_in_parent(client, db_session, TEST_SECRET, "sarah@example.com")
    value = client.cookies.get(PARENT_COOKIE)
    row = db_session.scalars(select(ParentSignIn)).one()
    other = ParentSignIn(
        token_hash=token_digest("other"),
        contact_id=family.contacts["nisha@example.com"].id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        last_seen_at=row.used_at,
    )
    db_session.add(other)
    db_session.commit()
    payload, expires, signature = value.split(".")
    moved = Signer.sign(
        Signer("wrong-key"), "parent-session", str(other.id), expires_at=int(expires)
    )
    for cookie in (moved, value[:-2] + "00", f"{payload}.{int(expires) + 9}.{signature}", "x.y"):
        client.cookies.clear()
        client.cookies.set(PARENT_COOKIE, cookie)
        assert client.get("/photos/answers", follow_redirects=False).status_code == 303


def test_links_are_throttled_per_address_with_the_same_page(client, db_session, family):
    for _ in range(5):
        response = ask_for_link(client, "sarah@example.com")
        assert response.status_code == 200
        assert page(response).h1.text == "Check your email"
    assert len(_emails_to(db_session, "sarah@example.com")) == 3
    # Another address from the same visitor is still sent its link.
    ask_for_link(client, "nisha@example.com")
    assert len(_emails_to(db_session, "nisha@example.com")) == 1


def test_link_requests_are_throttled_per_visitor(client, db_session, family, settings):
    settings.parent_link_requests_per_hour_per_client = 4
    codes = [ask_for_link(client, f"someone{n}@example.com").status_code for n in range(6)]
    assert codes == [200] * 4 + [429] * 2
    refused = ask_for_link(client, "nisha@example.com")
    assert "You have asked for too many links" in text_of(refused)
    assert refused.headers["retry-after"] == "3600"
    assert _emails_to(db_session, "nisha@example.com") == []
    assert db_session.scalar(select(func.count()).select_from(ParentSignIn)) == 0


def test_the_sign_in_link_never_reaches_the_logs():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s "%s %s"',
        ("1.2.3.4", "GET", "/photos/sign-in/abc_DEF-123"),
        None,
    )
    PrivateLinkFilter().filter(record)
    assert "abc_DEF" not in record.getMessage()
    assert "/photos/sign-in/[private-link]" in record.getMessage()
