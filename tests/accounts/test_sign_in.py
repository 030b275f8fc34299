"""Staff sign-in: sessions, throttling, disabled users, sign-out."""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import Role, StaffSession
from portal.accounts.services import set_active
from portal.history import Actor, history_of
from tests.conftest import csrf_of, page, text_of
from tests.factories import PASSWORD, make_user, sign_in


def _attempt(client, email: str, password: str):
    token = csrf_of(client.get("/staff/login"))
    return client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_staff_pages_send_you_to_sign_in_first(client):
    response = client.get("/staff/users", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=/staff/users"


def test_signing_in_opens_the_staff_home_and_sets_a_safe_cookie(client, db_session):
    user = make_user(db_session, Role.head, name="David Morgan")
    response = _attempt(client, user.email.upper(), PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff"
    cookie = next(h for h in response.headers.get_list("set-cookie") if "portal_session=" in h)
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    home = client.get("/staff")
    assert page(home).h1.text.strip() == "Hello, David Morgan"
    assert "Head teacher" in text_of(home)


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(client, db_session):
    user = make_user(db_session, Role.admin)
    token = csrf_of(client.get("/staff/login"))
    response = client.post(
        "/staff/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/staff/users",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/staff/users"
    client.cookies.clear()
    token = csrf_of(client.get("/staff/login"))
    response = client.post(
        "/staff/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/staff"


def test_sign_in_rotates_the_session_token(client, db_session):
    user = make_user(db_session, Role.office)
    sign_in(client, user)
    first = client.cookies.get("portal_session")
    sign_in(client, user)
    second = client.cookies.get("portal_session")
    assert first != second
    db_session.expire_all()
    assert len(db_session.scalars(select(StaffSession)).all()) == 1


def test_unknown_email_and_wrong_password_get_the_same_message(client, db_session):
    user = make_user(db_session, Role.office)
    wrong_password = _attempt(client, user.email, "not-the-password")
    unknown = _attempt(client, "nobody@school.example", "not-the-password")
    assert wrong_password.status_code == unknown.status_code == 401
    message = "Enter a correct email address and password"
    assert page(wrong_password).select_one(".govuk-error-summary").text.strip().endswith(message)
    assert page(unknown).select_one(".govuk-error-summary").text.strip().endswith(message)
    assert page(unknown).select_one("#email")["value"] == "nobody@school.example"
    assert page(unknown).title.text.startswith("Error: ")


def test_empty_sign_in_form_says_what_to_do(client):
    response = _attempt(client, "", "")
    assert response.status_code == 422
    summary = page(response).select_one(".govuk-error-summary").text
    assert "Enter your email address" in summary
    assert "Enter your password" in summary


def test_five_failures_lock_the_account_even_with_the_right_password(client, db_session):
    user = make_user(db_session, Role.office)
    for _ in range(5):
        assert _attempt(client, user.email, "wrong-password").status_code == 401
    locked = _attempt(client, user.email, PASSWORD)
    assert locked.status_code == 429
    assert "too many attempts" in text_of(locked).lower()
    assert "portal_session" not in client.cookies
    failures = [
        e
        for e in history_of(db_session, "staff_user", user.id)
        if e.tag == "account:sign-in-failed"
    ]
    assert len(failures) == 5


def test_one_address_trying_many_accounts_is_throttled(client, db_session):
    victim = make_user(db_session, Role.office)
    for number in range(20):
        _attempt(client, f"guess{number}@school.example", "wrong-password")
    assert _attempt(client, victim.email, PASSWORD).status_code == 429


def test_a_disabled_user_cannot_sign_in_and_is_signed_out(client, db_session):
    admin = make_user(db_session, Role.admin)
    user = make_user(db_session, Role.office)
    sign_in(client, user)
    assert client.get("/staff").status_code == 200
    set_active(db_session, user, active=False, actor=Actor.staff(admin))
    db_session.commit()
    assert client.get("/staff", follow_redirects=False).status_code == 303
    refused = _attempt(client, user.email, PASSWORD)
    assert refused.status_code == 401
    assert "switched off" in text_of(refused)


def test_an_idle_session_expires(client, db_session, settings):
    user = make_user(db_session, Role.office)
    sign_in(client, user)
    row = db_session.scalars(select(StaffSession)).one()
    from datetime import timedelta

    row.last_seen_at = row.last_seen_at - timedelta(minutes=settings.session_idle_minutes + 1)
    db_session.add(row)
    db_session.commit()
    assert client.get("/staff", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session(client, db_session):
    user = make_user(db_session, Role.office)
    sign_in(client, user)
    old_token = client.cookies.get("portal_session")
    token = csrf_of(client.get("/staff"))
    response = client.post("/staff/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    client.cookies.set("portal_session", old_token)
    assert client.get("/staff", follow_redirects=False).status_code == 303
    assert "You have signed out" in text_of(client.get("/staff/login?signed_out=1"))
