"""School events: families who confirmed the photo guidance get the details at once, the others
a request to confirm first and the details the moment they confirm, once per event."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.consent.models import EventInvitation, InvitationStatus, SchoolEvent
from tests.conftest import TEST_SECRET, page, text_of
from tests.consent.confirming import (
    confirm,
    create_event,
    emails_to,
    event_form,
    post_on_page,
    subjects_to,
)
from tests.consent.families import sign_in_parent, two_families
from tests.factories import make_user, sign_in
from tests.hostile import HOSTILE_TEXT

DETAILS = "Sports day: the details"
CONFIRM_FIRST = "Before Sports day: please confirm our photo guidance"


@pytest.fixture
def family(db_session):
    return two_families(db_session)


@pytest.fixture
def office(client, db_session):
    user = make_user(db_session, Role.office, name="Olive Office")
    sign_in(client, user)
    return user


def _send(client, event):  # type: ignore[no-untyped-def]
    path = f"/staff/events/{event.id}"
    return post_on_page(client, path, path + "/send")


def test_details_go_only_after_the_photo_guidance_is_confirmed(client, db_session, family, office):
    nisha = type(client)(client.app)
    sign_in_parent(nisha, db_session, TEST_SECRET, "nisha@example.com")
    confirm(nisha)
    event = create_event(client, db_session)
    shown = page(client.get(f"/staff/events/{event.id}"))
    assert "Not sent yet" in shown.select_one("#event-summary").text
    assert _send(client, event).status_code == 303

    assert DETAILS in subjects_to(db_session, "nisha@example.com")
    [details] = [m for m in emails_to(db_session, "nisha@example.com") if m.subject == DETAILS]
    assert "The school field" in details.body_text and "Races start at 1:30pm" in details.body_text
    assert "Saturday 3 July 2027" in details.body_text
    for address in ("sarah@example.com", "tom@example.com", "ama@example.com"):
        assert CONFIRM_FIRST in subjects_to(db_session, address)
        assert DETAILS not in subjects_to(db_session, address)
    assert DETAILS not in subjects_to(db_session, "nisha@example.com")[:-1]

    # Sarah signs in, sees the event waiting on her, confirms: the details go, once.
    sarah = type(client)(client.app)
    sign_in_parent(sarah, db_session, TEST_SECRET, "sarah@example.com")
    waiting = page(sarah.get("/photos/guidance")).select_one("#waiting")
    assert waiting is not None
    assert confirm(sarah).status_code == 303
    thanks = sarah.get("/photos/guidance?confirmed=1")
    assert "We have emailed you the details of: Sports day" in text_of(thanks)
    assert subjects_to(db_session, "sarah@example.com").count(DETAILS) == 1
    confirm(sarah, version="1", read="yes")
    assert subjects_to(db_session, "sarah@example.com").count(DETAILS) == 1
    assert DETAILS not in subjects_to(db_session, "tom@example.com")

    rows = {
        tr.th.text.strip(): tr.select("td")[2].text.strip()
        for tr in page(client.get(f"/staff/events/{event.id}")).select("#guests tbody tr")
    }
    assert rows["Sarah Jones"].startswith("Sent")
    assert rows["Tom Jones"] == "Waiting for them to confirm"
    counts = [
        td.text for td in page(client.get(f"/staff/events/{event.id}")).select("#event-counts td")
    ]
    assert counts == ["4", "2", "2", "2"]


def test_an_event_that_asks_nothing_sends_the_details_to_everyone(
    client, db_session, family, office
):
    event = create_event(client, db_session, needs_photo_guidance="no", groups=["year:Year 3"])
    assert _send(client, event).status_code == 303
    for address in ("sarah@example.com", "tom@example.com", "ama@example.com", "nisha@example.com"):
        assert subjects_to(db_session, address).count(DETAILS) == 1
    db_session.expire_all()
    statuses = db_session.scalars(select(EventInvitation.status)).all()
    assert set(statuses) == {InvitationStatus.details_sent}


def test_an_event_is_sent_once(client, db_session, family, office):
    event = create_event(client, db_session)
    assert _send(client, event).status_code == 303
    again = post_on_page(client, "/staff/confirmations", f"/staff/events/{event.id}/send")
    assert again.status_code == 409
    assert "This event was already sent, on Wednesday 25 November 2026 at 10:00" in text_of(again)
    assert subjects_to(db_session, "sarah@example.com").count(CONFIRM_FIRST) == 1


def test_a_past_event_waits_for_nobody(client, db_session, family, office, clock):
    event = create_event(
        client, db_session, held_on_day="27", held_on_month="11", held_on_year="2026"
    )
    assert _send(client, event).status_code == 303
    clock.advance(timedelta(days=3))
    sign_in(client, office)
    sarah = type(client)(client.app)
    sign_in_parent(sarah, db_session, TEST_SECRET, "sarah@example.com")
    assert page(sarah.get("/photos/guidance")).select_one("#waiting") is None
    confirm(sarah)
    assert DETAILS not in subjects_to(db_session, "sarah@example.com")


def test_staff_remind_those_waiting_once_per_interval(client, db_session, family, office, clock):
    event = create_event(client, db_session)
    _send(client, event)
    path = f"/staff/events/{event.id}"
    reminded = post_on_page(client, path, path + "/remind")
    assert reminded.status_code == 303
    assert subjects_to(db_session, "tom@example.com").count(CONFIRM_FIRST) == 2
    line = page(client.get(path)).select_one("#reminders-sent").text
    assert "Olive Office emailed 4 parents and carers" in line
    again = post_on_page(client, path, path + "/remind")
    assert again.status_code == 409
    assert "You can send another from Wednesday 2 December 2026 at 10:00" in text_of(again)
    assert subjects_to(db_session, "tom@example.com").count(CONFIRM_FIRST) == 2


def test_the_event_form_keeps_what_was_typed_and_says_what_to_fix(
    client, db_session, family, office
):
    form = event_form(
        title="x" * 500,
        held_on_day="31",
        held_on_month="2",
        place="",
        details="",
        groups=["class:9Z", "year:Year 9"],
        needs_photo_guidance="maybe",
    )
    shown = client.get("/staff/events/new")
    from tests.conftest import csrf_of

    response = client.post(
        "/staff/events/new", data={"csrf_token": csrf_of(shown), **form}, follow_redirects=False
    )
    assert response.status_code == 422
    errors = page(response).select_one(".govuk-error-summary").text
    for message in (
        "The name must be 120 characters or fewer",
        "Enter a real date",
        "Enter where the event is",
        "Enter the details families need",
        "Tick the classes or year groups the event is for",
        "Say whether parents must confirm the photo guidance first",
    ):
        assert message in errors
    assert page(response).select_one("#title")["value"] == "x" * 500
    assert page(response).select_one("#held_on_day")["value"] == "31"
    assert db_session.scalars(select(SchoolEvent)).all() == []


@pytest.mark.parametrize("value", HOSTILE_TEXT[::3])
def test_hostile_values_in_every_event_field_never_fail(client, db_session, family, office, value):
    from tests.conftest import csrf_of

    token = csrf_of(client.get("/staff/events/new"))
    for field in (
        "title",
        "held_on_day",
        "held_on_month",
        "held_on_year",
        "place",
        "details",
        "groups",
        "needs_photo_guidance",
    ):
        response = client.post(
            "/staff/events/new",
            data={"csrf_token": token, **event_form(**{field: value})},
            follow_redirects=False,
        )
        assert response.status_code in (303, 422), (field, value, response.status_code)
    quoted = quote(value, safe="")
    for path in (f"/staff/events/{quoted}", f"/staff/confirmations?class_name={quoted}"):
        assert client.get(path).status_code in (200, 404, 422), path


def test_a_date_in_the_past_is_refused(client, db_session, family, office):
    from tests.conftest import csrf_of

    token = csrf_of(client.get("/staff/events/new"))
    response = client.post(
        "/staff/events/new",
        data={"csrf_token": token, **event_form(held_on_year="2025")},
    )
    assert response.status_code == 422
    assert "The date must be today or in the future" in text_of(response)


def test_an_unknown_event_is_not_found(client, db_session, office):
    assert client.get("/staff/events/999999").status_code == 404
    assert client.get(f"/staff/events/{2**70}").status_code == 404
