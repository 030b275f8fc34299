"""How the school asks (consent settings): pupils aged 12 and over asked too, and the days
between requests to a class and between reminders to confirm. Admins only; each value changed is
one history event shown on the overview; bad input comes back with a message and what was
typed; the setting changes what the photo check says at once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.consent.models import ConsentSettings
from portal.consent.services import settings as rules
from portal.history import HistoryEvent
from tests.conftest import csrf_of, page
from tests.factories import make_user, sign_in
from tests.hostile import HOSTILE_TEXT

BASE = "/staff/consent-settings"


@pytest.fixture
def admin(client, db_session):
    user = make_user(db_session, Role.admin, name="Priya Shah")
    sign_in(client, user)
    return user


def save(client, **values: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(BASE + "/asking"))
    data = {
        "ask_pupils": "no",
        "request_interval_days": "7",
        "confirmation_reminder_days": "7",
        "seen": "0",
        **values,
    }
    return client.post(BASE + "/asking", data={"csrf_token": token, **data}, follow_redirects=False)


def test_the_page_shows_the_defaults(client, admin):
    shown = page(client.get(BASE + "/asking"))
    assert shown.select_one("h1").text.strip() == "How the school asks"
    assert shown.select_one("#ask_pupils-2[checked]") is not None  # "No" by default
    assert shown.select_one("#request_interval_days")["value"] == "7"
    assert shown.select_one("#confirmation_reminder_days")["value"] == "7"


def test_a_change_is_saved_recorded_once_per_value_and_shown(client, db_session, admin):
    response = save(client, ask_pupils="yes", request_interval_days="14")
    assert response.status_code == 303
    db_session.expire_all()
    row = db_session.scalars(select(ConsentSettings)).one()
    assert (row.ask_pupils_12_and_over, row.request_interval_days) == (True, 14)
    assert row.confirmation_reminder_days == 7
    events = db_session.scalars(
        select(HistoryEvent).where(HistoryEvent.tag == rules.ASKING_TAG)
    ).all()
    assert sorted(e.details["field"] for e in events) == [
        "ask_pupils_12_and_over",
        "request_interval_days",
    ]
    assert all(e.actor_label == "Priya Shah" for e in events)
    overview = page(client.get(BASE))
    assert "Last changed by Priya Shah" in overview.select_one("#asking-changed").text
    changes = overview.get_text(" ")
    assert "Pupils aged 12 and over are asked too" in changes and "From “No” to “Yes”" in changes
    assert "From “7” to “14”" in changes


def test_saving_the_same_values_records_nothing(client, db_session, admin):
    assert save(client).status_code == 303
    db_session.expire_all()
    assert (
        db_session.scalar(select(HistoryEvent).where(HistoryEvent.tag == rules.ASKING_TAG)) is None
    )


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("request_interval_days", "", "Enter a number of days"),
        ("request_interval_days", "0", "from 1 to 90"),
        ("request_interval_days", "91", "from 1 to 90"),
        ("confirmation_reminder_days", "-3", "whole number"),
        ("confirmation_reminder_days", "9" * 400, "whole number"),
        ("confirmation_reminder_days", "٣", "whole number"),  # an Arabic-Indic three
        ("request_interval_days", HOSTILE_TEXT[:60], "whole number"),
        ("ask_pupils", "maybe", "Say whether pupils aged 12 and over are asked too"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_kept(
    client, db_session, admin, field, typed, message
):
    response = save(
        client, **{field: typed, "ask_pupils": "yes"} if field != "ask_pupils" else {field: typed}
    )
    assert response.status_code == 422
    shown = page(response)
    assert message in shown.select_one(".govuk-error-summary").get_text(" ")
    if field == "ask_pupils":
        return
    assert shown.select_one("#ask_pupils[checked]") is not None  # "Yes" stays chosen
    db_session.expire_all()
    assert db_session.scalar(select(ConsentSettings)) is None


def test_a_page_showing_an_older_state_is_refused_and_shows_the_new_one(client, db_session, admin):
    assert save(client, request_interval_days="10").status_code == 303
    stale = save(client, request_interval_days="20", seen="0")
    assert stale.status_code == 409
    shown = page(stale)
    assert "Another administrator changed" in shown.get_text(" ")
    assert shown.select_one("input[name=seen]")["value"] == "1"
    db_session.expire_all()
    assert db_session.scalars(select(ConsentSettings)).one().request_interval_days == 10


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.admin])
def test_only_an_admin_may_change_how_the_school_asks(client, db_session, role):
    sign_in(client, make_user(db_session, role))
    assert client.get(BASE + "/asking").status_code == 403
    token = csrf_of(client.get("/staff"))
    response = client.post(
        BASE + "/asking",
        data={
            "csrf_token": token,
            "ask_pupils": "yes",
            "request_interval_days": "7",
            "confirmation_reminder_days": "7",
            "seen": "0",
        },
        follow_redirects=False,
    )
    assert response.status_code == 403
    db_session.expire_all()
    assert db_session.scalar(select(ConsentSettings)) is None


def test_the_service_refuses_anyone_but_an_admin(db_session):
    office = make_user(db_session, Role.office, Role.head)
    with pytest.raises(rules.SettingsRefused, match="Only a portal administrator"):
        rules.save_asking(db_session, office, rules.Asking(True, 7, 7), seen_revision=0)


def test_age_twelve_is_counted_on_the_day(db_session):
    from portal.consent.services.answers import age_on

    born = date(2014, 3, 1)
    assert age_on(born, date(2026, 2, 28)) == 11
    assert age_on(born, date(2026, 3, 1)) == 12
