"""Helpers for the confirmation and event tests: a parent confirming, staff making an event."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from portal.consent.models import SchoolEvent
from portal.mail import OutboxMessage
from tests.pages import csrf_of, page


def confirm(client: TestClient, path: str = "/photos/guidance", **extra: str):  # type: ignore[no-untyped-def]
    """Tick the box and press Confirm on the page, as the parent sees it."""
    shown = client.get(path)
    version = page(shown).select_one("input[name=version]")
    data = {
        "csrf_token": csrf_of(shown),
        "read": "yes",
        "version": version["value"] if version else "",
    }
    data.update(extra)
    return client.post(path, data=data, follow_redirects=False)


def event_form(**changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "title": "Sports day",
        "held_on_day": "3",
        "held_on_month": "7",
        "held_on_year": "2027",
        "place": "The school field",
        "details": "Races start at 1:30pm. Bring a sun hat.",
        "groups": ["class:3B"],
        "needs_photo_guidance": "yes",
    }
    form.update(changes)
    return form


def create_event(client: TestClient, session: Session, **changes: object) -> SchoolEvent:
    shown = client.get("/staff/events/new")
    response = client.post(
        "/staff/events/new",
        data={"csrf_token": csrf_of(shown), **event_form(**changes)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    event_id = int(response.headers["location"].rsplit("/", 1)[1])
    session.expire_all()
    event = session.get(SchoolEvent, event_id)
    assert event is not None
    return event


def post_on_page(client: TestClient, page_path: str, action: str, data: dict | None = None):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(page_path))
    return client.post(action, data={"csrf_token": token, **(data or {})}, follow_redirects=False)


def emails_to(session: Session, address: str) -> list[OutboxMessage]:
    session.expire_all()
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.to_address == address)
            .order_by(OutboxMessage.id)
        )
    )


def subjects_to(session: Session, address: str) -> list[str]:
    return [message.subject for message in emails_to(session, address)]
