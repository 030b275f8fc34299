"""Reading pages the way a person does, and sending forms the way a browser does."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient


def page(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.text, "html.parser")


def csrf_of(response) -> str:  # type: ignore[no-untyped-def]
    field = page(response).select_one("input[name=csrf_token]")
    assert field is not None, "page has no CSRF field"
    return str(field["value"])


def post_form(client: TestClient, path: str, data: dict, *, from_page: str | None = None):  # type: ignore[no-untyped-def]
    """Fill in and send a form the way a browser does: read the CSRF token from the page first."""
    form_page = client.get(from_page or path)
    return client.post(
        path, data={**data, "csrf_token": csrf_of(form_page)}, follow_redirects=False
    )


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", page(response).get_text(" ")).strip()
