"""Sending the settings forms the way a browser does, and reading what they recorded."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from portal.history import HistoryEvent, history_of
from portal.school.services import profile_row
from tests.conftest import csrf_of, page


def send(client: TestClient, path: str, data: dict, *, from_page: str | None = None, files=None):  # type: ignore[no-untyped-def]
    """Open the form page, keep its CSRF token and `seen` fingerprint, then post `data`."""
    form_page = client.get(from_page or path)
    assert form_page.status_code == 200, form_page.text
    seen_field = page(form_page).select_one("input[name=seen]")
    fields = {"csrf_token": csrf_of(form_page)}
    if seen_field is not None:
        fields["seen"] = str(seen_field["value"])
    fields.update(data)
    return client.post(path, data=fields, files=files, follow_redirects=False)


def school_events(session: Session) -> list[HistoryEvent]:
    session.expire_all()
    row = profile_row(session)
    assert row is not None
    return [e for e in history_of(session, "school", row.id)]
