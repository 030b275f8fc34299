"""CSRF refusal, security headers, friendly error pages."""

from __future__ import annotations

from fastapi import APIRouter

from portal.accounts.models import Role
from tests.conftest import csrf_of, page, text_of
from tests.factories import make_user, sign_in


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


def test_brand_colour_comes_from_settings(client, settings):
    css = client.get("/brand.css").text
    assert settings.brand_colour in css
    assert "--govuk-brand-colour" in css
