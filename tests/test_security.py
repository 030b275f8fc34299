"""CSRF refusal, security headers, friendly error pages."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from portal.accounts.models import Role
from tests.conftest import csrf_of, page, text_of
from tests.factories import PASSWORD, change_school, make_user, sign_in


def test_every_response_carries_the_security_headers(client):
    for path in ["/", "/staff/login", "/no-such-page", "/healthz", "/static/build/portal.css"]:
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert "default-src 'self'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"


def test_pages_are_not_cached_but_static_files_are(client):
    assert client.get("/").headers["cache-control"] == "no-store"
    assert "max-age" in client.get("/static/js/init.js").headers["cache-control"]


def test_a_post_without_a_csrf_token_is_refused_with_an_explanation(client, db_session):
    user = make_user(db_session, Role.office)
    response = client.post("/staff/login", data={"email": user.email, "password": "x"})
    assert response.status_code == 403
    assert page(response).h1.text.strip() == "Your form could not be sent"
    assert "Go back to the previous page" in text_of(response)
    assert "Traceback" not in response.text


def test_a_token_from_another_browser_is_refused(client, app, db_session):
    user = make_user(db_session, Role.office)
    token_from_elsewhere = csrf_of(client.get("/staff/login"))
    client.cookies.clear()
    client.get("/staff/login")  # this browser now has a different CSRF cookie
    response = client.post(
        "/staff/login",
        data={"email": user.email, "password": "x", "csrf_token": token_from_elsewhere},
    )
    assert response.status_code == 403


def test_sign_in_rotates_the_csrf_token(client, db_session):
    user = make_user(db_session, Role.office)
    before = csrf_of(client.get("/staff/login"))
    sign_in(client, user)
    after = csrf_of(client.get("/staff"))
    assert before != after


def test_the_not_found_page_is_friendly(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert page(response).h1.text.strip() == "Page not found"


def test_a_crash_shows_a_friendly_page_and_no_stack_trace(app, client):
    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    app.include_router(router)
    response = client.get("/boom")
    assert response.status_code == 500
    assert page(response).h1.text.strip() == "Sorry, there is a problem with the portal"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert "unsafe-inline" not in response.headers["content-security-policy"]


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_brand_colour_comes_from_the_school_profile(client, app):
    change_school(app, brand_colour="#0b0c0c")
    css = client.get("/brand.css").text
    assert "#0b0c0c" in css
    assert "--govuk-brand-colour" in css


# ---------------------------------------------------------------- CSRF bound to the session


def _browser(app, cookies: dict[str, str], base_url: str = "http://testserver") -> TestClient:
    """A fresh browser holding exactly `cookies` (as one whose cookies were planted would)."""
    return TestClient(app, base_url=base_url, raise_server_exceptions=False, cookies=cookies)


def _new_user_form(token: str) -> dict[str, str]:
    return {
        "name": "Planted Request",
        "email": "planted@school.example",
        "password": "a-long-enough-password",
        "roles": "office",
        "csrf_token": token,
    }


def test_a_token_from_before_sign_in_is_refused_once_signed_in(app, client, db_session):
    admin = make_user(db_session, Role.admin)
    login_page = client.get("/staff/login")
    old_cookie, old_token = client.cookies["portal_csrf"], csrf_of(login_page)
    sign_in(client, admin)
    session_cookie = client.cookies["portal_session"]
    # Even with the CSRF cookie from before sign-in put back, its token no longer works.
    planted = _browser(app, {"portal_session": session_cookie, "portal_csrf": old_cookie})
    refused = planted.post("/staff/users/new", data=_new_user_form(old_token))
    assert refused.status_code == 403
    # The token on a page shown to the signed-in admin does.
    token = csrf_of(client.get("/staff/users/new"))
    accepted = client.post("/staff/users/new", data=_new_user_form(token), follow_redirects=False)
    assert accepted.status_code == 303


def test_a_token_from_another_users_session_is_refused(app, db_session):
    admin = make_user(db_session, Role.admin)
    other = make_user(db_session, Role.office)
    mine, theirs = _browser(app, {}), _browser(app, {})
    sign_in(mine, admin)
    sign_in(theirs, other)
    their_token = csrf_of(theirs.get("/staff"))
    mixed = _browser(
        app,
        {
            "portal_session": mine.cookies["portal_session"],
            "portal_csrf": theirs.cookies["portal_csrf"],
        },
    )
    assert mixed.post("/staff/users/new", data=_new_user_form(their_token)).status_code == 403
    assert mixed.post("/staff/logout", data={"csrf_token": their_token}).status_code == 403


def test_signing_out_makes_the_signed_in_token_useless(app, client, db_session):
    user = make_user(db_session, Role.office)
    sign_in(client, user)
    session_cookie, csrf_cookie = client.cookies["portal_session"], client.cookies["portal_csrf"]
    token = csrf_of(client.get("/staff"))
    client.post("/staff/logout", data={"csrf_token": token})
    # A browser without the session (it was cleared) cannot reuse the signed-in token.
    stale = _browser(app, {"portal_csrf": csrf_cookie})
    assert stale.post("/staff/login", data={"csrf_token": token}).status_code == 403
    assert session_cookie not in client.cookies.values()


def _set_cookie(response, name: str) -> str:  # type: ignore[no-untyped-def]
    return next(h for h in response.headers.get_list("set-cookie") if h.startswith(name + "="))


@pytest.mark.parametrize("base_url", ["https://portal.school.example", "HTTPS://Portal.Example"])
def test_cookies_are_secure_when_the_portal_is_served_over_https(
    app, db_session, settings, base_url
):
    settings.base_url = base_url
    user = make_user(db_session, Role.office)
    browser = _browser(app, {}, base_url="https://testserver")
    login_page = browser.get("/staff/login")
    assert "secure" in _set_cookie(login_page, "portal_csrf").lower().split("; ")
    response = browser.post(
        "/staff/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_of(login_page)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    for name in ("portal_session", "portal_csrf"):
        attributes = _set_cookie(response, name).lower().split("; ")
        assert "secure" in attributes and "httponly" in attributes
    token = csrf_of(browser.get("/staff"))
    signed_out = browser.post("/staff/logout", data={"csrf_token": token}, follow_redirects=False)
    assert "secure" in _set_cookie(signed_out, "portal_session").lower().split("; ")


def test_cookies_are_not_marked_secure_on_plain_http(client, settings):
    settings.base_url = "http://127.0.0.1:8000"
    cookie = _set_cookie(client.get("/staff/login"), "portal_csrf").lower().split("; ")
    assert "secure" not in cookie


# ---------------------------------------------------------------- hostile CSRF values


@pytest.mark.parametrize("token", ["é" * 64, "\u2603", "a\u00a0b", "𝟘" * 10])
def test_a_non_ascii_csrf_token_is_refused_not_a_crash(client, token):
    client.get("/staff/login")
    response = client.post("/staff/login", data={"email": "a@b.example", "csrf_token": token})
    assert response.status_code == 403
    header = client.post(
        "/complaints/new/kind",
        data={"kind": "concern"},
        headers={"x-csrf-token": token.encode("utf-8")},
    )
    assert header.status_code == 403


def test_a_non_ascii_csrf_cookie_is_refused_not_a_crash(app):
    browser = TestClient(app, raise_server_exceptions=False)
    response = browser.post(
        "/staff/login",
        data={"email": "a@b.example", "csrf_token": "abc"},
        headers={"cookie": "portal_csrf=\u00e9\u00e9".encode()},
    )
    assert response.status_code == 403


def test_head_is_answered_like_get_without_a_body(client):
    response = client.head("/")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"].startswith("text/html")
    assert client.head("/no-such-page").status_code == 404
