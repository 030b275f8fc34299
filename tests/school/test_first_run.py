"""The first run: a new, empty portal is closed to parents (a calm 503) until an admin has given
the school's details, checked the timescales, put in term dates covering today and opened it."""

from __future__ import annotations

from sqlalchemy import delete

from portal.accounts.models import Role
from portal.calendar import Term
from portal.history import HistoryEvent, history_purge_permitted
from portal.school.models import SchoolClosure, SchoolProfile, SchoolTerm
from portal.school.services import profile_row, replace_term_dates
from tests.conftest import page, text_of
from tests.factories import make_user, school_now, sign_in
from tests.school.helpers import send


def empty_portal(app) -> None:  # type: ignore[no-untyped-def]
    with app.state.sessions() as session:
        with history_purge_permitted(session):
            session.execute(delete(HistoryEvent).where(HistoryEvent.subject_type == "school"))
            session.execute(delete(SchoolClosure))
            session.execute(delete(SchoolTerm))
            session.execute(delete(SchoolProfile))
        session.commit()


PARENT_PAGES = ("/", "/complaints/new", "/track", "/parents/online")


def test_an_empty_portal_is_not_open_to_parents(app, client):
    empty_portal(app)
    for url in PARENT_PAGES:
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 503, url
        assert page(response).select_one("h1").text == "This portal is not open yet"
        assert "Traceback" not in response.text
    assert client.get("/healthz").status_code == 200
    assert client.get("/brand.css").status_code == 200
    assert client.get("/staff/login").status_code == 200
    signed_out = client.get("/staff", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/staff/login")


def test_staff_who_are_not_admins_are_told_an_administrator_must_finish(app, client, db_session):
    office = make_user(db_session, Role.office)
    empty_portal(app)
    sign_in(client, office)
    response = client.get("/staff")
    assert response.status_code == 503
    assert "An administrator must finish setting up the portal" in text_of(response)
    assert client.get("/staff/complaints").status_code == 503


def test_the_first_run_from_an_empty_portal_to_open(app, client, db_session, clock):
    admin = make_user(db_session, Role.admin, name="Ada Admin")
    empty_portal(app)
    sign_in(client, admin)

    assert client.get("/staff", follow_redirects=False).headers["location"] == "/staff/setup"
    assert (
        client.get("/staff/settings", follow_redirects=False).headers["location"] == "/staff/setup"
    )
    steps = client.get("/staff/setup")
    assert steps.status_code == 200
    assert "Open the portal to parents" not in text_of(steps)
    assert "/staff/settings/term-dates" not in {a["href"] for a in page(steps).select("a")}

    response = send(client, "/staff/setup/school", {"name": "", "contact_email": "nope"})
    assert response.status_code == 422
    assert "Enter the school's name" in text_of(response)
    response = send(
        client,
        "/staff/setup/school",
        {
            "name": "Oakfield Primary",
            "contact_email": "office@oakfield.example",
            "contact_phone": "01632 960000",
            "contact_address": "Oak Lane, Oakfield OK1 1AA",
            "website_url": "",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/staff/setup"
    assert school_now(app).name == "Oakfield Primary"
    assert client.get("/").status_code == 503  # not open yet

    values = {
        "acknowledge_within_days": "5",
        "concern_response_days": "10",
        "stage1_response_days": "10",
        "escalation_window_days": "10",
        "stage2_outcome_days": "20",
        "late_after_months": "3",
        "reminder_days_before": "2",
    }
    response = send(client, "/staff/setup/timescales", values)
    assert response.status_code == 303 and response.headers["location"] == "/staff/setup"

    steps = client.get("/staff/setup")
    assert "/staff/settings/term-dates" in {a["href"] for a in page(steps).select("a")}
    assert "Open the portal to parents" not in text_of(steps)  # no term dates yet
    refused = send(client, "/staff/setup/open", {}, from_page="/staff/setup")
    assert refused.headers["location"] == "/staff/setup?not_ready=1"
    assert client.get("/").status_code == 503

    with app.state.sessions() as session:
        row = profile_row(session)
        today = clock.now().date()
        replace_term_dates(
            session,
            row.id,
            [Term("Autumn 2", today.replace(month=11, day=2), today.replace(month=12, day=18))],
            [],
        )
        session.commit()
    steps = client.get("/staff/setup")
    assert "Open the portal to parents" in text_of(steps)
    response = send(client, "/staff/setup/open", {}, from_page="/staff/setup")
    assert response.status_code == 303

    home = client.get("/")
    assert home.status_code == 200
    assert page(home).select_one(".school-header__name").text == "Oakfield Primary"
    assert client.get("/staff").status_code == 200
    assert client.get("/staff/setup", follow_redirects=False).status_code == 303
    overview = text_of(client.get("/staff/settings"))
    assert "Opened the portal to parents" in overview
    assert "Set up the school profile" in overview


def test_the_demo_portal_is_open_at_once(client):
    assert client.get("/").status_code == 200
