"""The demo school's confirmations: `make run` shows some parents confirmed, some not, and a
sports day whose details wait on those who have not."""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import Role
from portal.consent.demo import load_demo_confirmations, load_demo_pupils
from portal.consent.models import EventInvitation, InvitationStatus, SchoolEvent
from tests.conftest import page
from tests.factories import make_user, sign_in


def test_the_demo_has_an_event_waiting_on_some_parents(client, db_session, settings):
    make_user(db_session, Role.head, email="head@brookfield-primary.example")
    make_user(db_session, Role.office, email="office@brookfield-primary.example")
    load_demo_pupils(db_session)
    load_demo_confirmations(db_session, settings)
    load_demo_confirmations(db_session, settings)  # once only
    db_session.commit()
    events = db_session.scalars(select(SchoolEvent).order_by(SchoolEvent.id)).all()
    assert [e.title for e in events] == ["Year 3 sports day", "Year 4 trip to the museum"]
    assert events[0].sent_at is not None and events[1].sent_at is None
    statuses = set(db_session.scalars(select(EventInvitation.status)))
    assert statuses == {InvitationStatus.waiting, InvitationStatus.details_sent}
    sign_in(client, make_user(db_session, Role.office))
    shown = page(client.get("/staff/confirmations?class_name=3B"))
    count = shown.select_one("#count-photo-guidance").text
    assert "2 of 8" in count  # Róisín and Amira of the eight 3B contacts
