"""Reading a parent's email in the admin outbox is a view of the case: it goes in its history."""

from __future__ import annotations

import json

from sqlalchemy import select

from portal.accounts.models import Role
from portal.history import HistoryEvent, history_of
from portal.mail import OutboxMessage, queue_mail
from tests.factories import make_case, make_cast, make_user, sign_in


def test_opening_a_cases_email_in_the_outbox_is_recorded_on_the_case(client, db_session, settings):
    cast = make_cast(db_session)
    admin = make_user(db_session, Role.admin, name="Priya Shah")
    case = make_case(db_session, settings, cast, "new")
    message = queue_mail(
        db_session,
        to="alex.parent@example.com",
        subject="About your complaint",
        body_text="We have received it.",
        complaint_id=case.id,
    )
    db_session.commit()
    sign_in(client, admin)

    response = client.get(f"/staff/outbox/{message.id}")

    assert response.status_code == 200
    db_session.expire_all()
    views = [e for e in history_of(db_session, "complaint", case.id) if e.tag.endswith("outbox")]
    assert len(views) == 1
    [view] = views
    assert view.tag == "complaint:view:outbox"
    assert (view.actor_type, view.actor_user_id, view.actor_label) == (
        "staff",
        admin.id,
        "Priya Shah",
    )
    assert json.loads(view.detail) == {"outbox_message_id": message.id}


def test_the_cases_own_emails_know_their_case_and_each_reading_is_recorded(
    client, db_session, settings
):
    """The complaint services' emails carry related=("complaint", id): that names the case."""
    cast = make_cast(db_session)
    admin = make_user(db_session, Role.admin)
    case = make_case(db_session, settings, cast, "new")
    sent = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.complaint_id == case.id)
    ).all()
    assert sent, "the parent's acknowledgement should name its case"
    sign_in(client, admin)

    client.get(f"/staff/outbox/{sent[0].id}")
    client.get(f"/staff/outbox/{sent[0].id}")

    db_session.expire_all()
    tags = [e.tag for e in history_of(db_session, "complaint", case.id)]
    assert tags.count("complaint:view:outbox") == 2


def test_an_email_about_no_case_adds_no_history(client, db_session):
    admin = make_user(db_session, Role.admin)
    message = queue_mail(db_session, to="office@school.example", subject="Ready", body_text="Hi")
    db_session.commit()
    sign_in(client, admin)

    assert client.get(f"/staff/outbox/{message.id}").status_code == 200
    assert client.get("/staff/outbox").status_code == 200

    db_session.expire_all()
    assert (
        db_session.scalars(select(HistoryEvent).where(HistoryEvent.tag.like("%outbox"))).all() == []
    )
