"""Signed cookies with hostile values: refused (a redirect or a 404), never a 500.

`hmac.compare_digest` raises TypeError when a str holds a character outside ASCII, and a cookie can
hold anything, so every signed value is compared as bytes.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import submit

HOSTILE = [
    "\u00e9" * 64,
    "\u2603",
    "\u0661\u0662\u0663",  # Arabic-Indic digits: str.isdigit() says yes
    "\u00b2",  # superscript two: isdigit() yes, int() no
    "9" * 40,  # beyond any 64-bit column
    "\x00",
]


def _get(app, path: str, cookie: str):  # type: ignore[no-untyped-def]
    browser = TestClient(app, raise_server_exceptions=False)
    return browser.get(path, headers={"cookie": cookie.encode("utf-8")}, follow_redirects=False)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_track_cookie_sends_the_parent_to_find_their_case(
    app, db_session, settings, value
):
    case = submit(db_session, settings)
    for cookie in (
        f"{case.id}.99999999999.{value}",
        f"{value}.99999999999.abc",
        f"{case.id}.{value}.abc",
        value,
    ):
        response = _get(app, "/track/case", f"portal_track={cookie}")
        assert response.status_code in (303, 404), (cookie, response.status_code)
        assert response.headers.get("location", "/track") == "/track"


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_confirmation_cookie_goes_back_to_the_start(app, value):
    for cookie in (f"abc.{value}", f"{value}.abc", value, f"{value}.{value}"):
        response = _get(app, "/complaints/new/done", f"portal_done={cookie}")
        assert response.status_code == 303, (cookie, response.status_code)
        assert response.headers["location"] == "/complaints/new"
