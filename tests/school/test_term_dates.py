"""The term dates pages: an admin's change moves every open case's deadline at once, no restart;
validation as field errors with nothing typed lost; who may use the pages; the listener never
names a case the admin may not open; two admins at once."""

from __future__ import annotations

import threading
from datetime import date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from portal.accounts.models import Role
from portal.calendar import SchoolCalendar, Term, format_date
from portal.complaints import services
from portal.complaints.models import NO_DEADLINE, Complaint
from portal.history import HistoryEvent
from portal.school import term_dates as rules
from portal.school.models import SchoolClosure, SchoolTerm
from portal.school.services import calendar_of, school_of
from tests import factories
from tests.conftest import csrf_of, page, post_form, text_of
from tests.factories import answers, make_case, make_user, sign_in
from tests.routes import api_routes

BASE = "/staff/settings/term-dates"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


def _term_id(db_session, name: str) -> int:
    db_session.expire_all()
    return db_session.scalars(select(SchoolTerm.id).where(SchoolTerm.name == name)).one()


def _fresh(db_session, case: Complaint) -> Complaint:
    db_session.expire_all()
    return db_session.get(Complaint, case.id)


# ---------------------------------------------------------------- the acceptance test


def test_an_admin_adds_a_closure_day_and_every_open_case_deadline_in_the_queue_moves_at_once(
    client, db_session, settings, cast
):
    new_case = make_case(db_session, settings, cast, "new")
    open_case = make_case(db_session, settings, cast, "open")
    about_head = make_case(db_session, settings, cast, "open", about="head")
    before = {c.id: (c.next_deadline, c.queue_date) for c in (new_case, open_case, about_head)}
    # Received Wednesday 25 November 2026: acknowledged within 5 school days (2 December),
    # answered within 10 (9 December).
    assert before[new_case.id][0] == date(2026, 12, 2)
    assert before[open_case.id][0] == date(2026, 12, 9)

    # The office manager's queue shows the dates as they are.
    sign_in(client, cast.office)
    queue = text_of(client.get("/staff/complaints"))
    assert format_date(date(2026, 12, 2)) in queue

    admin = make_user(db_session, Role.admin, name="Ada Admin")
    sign_in(client, admin)
    done = post_form(
        client,
        f"{BASE}/closures/new",
        {"day_day": "27", "day_month": "11", "day_year": "2026", "reason": "INSET"},
    )
    assert done.status_code == 200
    words = text_of(done)
    assert "Friday 27 November 2026 added as a closure day" in words
    assert "3 open cases' deadlines moved" in words
    # An admin alone may open no case: none is named, the count is told.
    assert "3 cases you cannot open moved too; their handlers see the change" in words
    for case in (new_case, open_case, about_head):
        assert case.reference not in done.text

    # Stored at once: no restart, no `portal remind`, no opening of the case.
    for case in (new_case, open_case, about_head):
        stored = _fresh(db_session, case)
        old_deadline, old_queue_date = before[case.id]
        assert stored.next_deadline != old_deadline
        assert stored.queue_date == stored.next_deadline != old_queue_date
    assert _fresh(db_session, new_case).next_deadline == date(2026, 12, 3)
    assert _fresh(db_session, open_case).next_deadline == date(2026, 12, 10)
    moved_events = db_session.scalars(
        select(HistoryEvent).where(HistoryEvent.tag == "complaint:deadline:moved")
    ).all()
    assert {event.subject_id for event in moved_events} == {
        str(c.id) for c in (new_case, open_case, about_head)
    }
    assert {e.to_value for e in moved_events if e.subject_id == str(new_case.id)} == {"2026-12-03"}

    sign_in(client, cast.office)
    queue = text_of(client.get("/staff/complaints"))
    assert format_date(date(2026, 12, 3)) in queue and format_date(date(2026, 12, 10)) in queue
    change = db_session.scalars(
        select(HistoryEvent).where(HistoryEvent.tag == "term-dates:closure:added")
    ).one()
    assert change.actor_user_id == admin.id and "INSET" in change.to_value


def test_the_moved_list_names_only_the_cases_the_admin_may_open(client, db_session, settings, cast):
    school_case = make_case(db_session, settings, cast, "open")
    about_head = make_case(db_session, settings, cast, "open", about="head")
    # An admin who is also the head teacher sees the school's cases, never one about the head.
    cast.head.role_names = "head admin"
    db_session.add(cast.head)
    db_session.commit()
    sign_in(client, cast.head)
    done = post_form(
        client,
        f"{BASE}/closures/new",
        {"day_day": "27", "day_month": "11", "day_year": "2026", "reason": "INSET"},
    )
    assert done.status_code == 200, text_of(done)
    words = text_of(done)
    assert "2 open cases' deadlines moved" in words
    listed = text_of_table(done)
    assert school_case.reference in listed
    assert about_head.reference not in done.text
    assert "1 case you cannot open moved too; its handler sees the change" in words
    assert "Wednesday 9 December 2026" in listed and "Thursday 10 December 2026" in listed


def text_of_table(response) -> str:
    table = page(response).select_one("#moved")
    return table.get_text(" ") if table else ""


def test_the_listener_marks_visibility_by_the_one_rule(db_session, settings, cast):
    school_case = make_case(db_session, settings, cast, "open")
    about_head = make_case(db_session, settings, cast, "open", about="head")
    result = rules.add_closure(
        db_session, cast.head, rules.ClosureInput(date(2026, 11, 27), "INSET")
    )
    seen = {moved.reference: moved.visible for moved in result.moved}
    assert seen == {school_case.reference: True, about_head.reference: False}
    assert [moved.reference for moved in result.shown] == [school_case.reference]
    assert result.hidden_count == 1
    db_session.rollback()


def test_a_deadline_not_set_yet_is_set_when_the_next_dates_are_added(
    client, db_session, settings, clock, cast
):
    clock.set(datetime(2028, 7, 19, 10, 0))  # the test term dates end on Friday 21 July 2028
    received = services.submit(db_session, settings, answers())
    db_session.commit()
    case = received.complaint
    assert case.next_deadline is None and case.deadline_kind == "acknowledge"
    assert case.queue_date == NO_DEADLINE

    admin = make_user(db_session, Role.admin)
    sign_in(client, admin)
    assert "The term dates run out on Friday 21 July 2028" in text_of(client.get(BASE))
    done = post_form(
        client,
        f"{BASE}/terms/new",
        {
            "name": "Autumn term 1 2028-29",
            "start_day": "4",
            "start_month": "9",
            "start_year": "2028",
            "end_day": "20",
            "end_month": "10",
            "end_year": "2028",
        },
    )
    assert done.status_code == 200, text_of(done)
    assert "1 open case's deadline moved" in text_of(done)
    stored = _fresh(db_session, case)
    # 20 and 21 July, then 4, 5 and 6 September: 5 school days after the 19th.
    assert stored.next_deadline == date(2028, 9, 6)
    assert stored.queue_date == date(2028, 9, 6)


def test_removing_the_term_a_deadline_falls_in_makes_it_not_set_yet(
    client, db_session, settings, clock, cast
):
    clock.set(datetime(2028, 6, 28, 10, 0))
    case = make_case(db_session, settings, cast, "open")
    assert case.next_deadline is not None
    admin = make_user(db_session, Role.admin)
    sign_in(client, admin)
    term_id = _term_id(db_session, "Summer term 2 2027-28")
    confirm = client.get(f"{BASE}/terms/{term_id}/remove")
    assert "Monday 5 June 2028" in text_of(confirm)  # its closure day goes with it
    done = client.post(f"{BASE}/terms/{term_id}/remove", data={"csrf_token": csrf_of(confirm)})
    assert done.status_code == 200
    assert "Summer term 2 2027-28 removed, with its 1 closure day" in text_of(done)
    stored = _fresh(db_session, case)
    assert stored.next_deadline is None and stored.queue_date == NO_DEADLINE
    assert db_session.scalar(select(func.count()).select_from(SchoolTerm)) == 11


def test_changing_a_term_shows_its_dates_then_saves_them(client, db_session):
    admin = make_user(db_session, Role.admin)
    sign_in(client, admin)
    term_id = _term_id(db_session, "Summer term 2 2027-28")
    form = client.get(f"{BASE}/terms/{term_id}")
    fields = {i["name"]: i.get("value") for i in page(form).select("input[name]")}
    assert fields["name"] == "Summer term 2 2027-28"
    assert (fields["end_day"], fields["end_month"], fields["end_year"]) == ("21", "7", "2028")
    done = client.post(
        f"{BASE}/terms/{term_id}",
        data={
            "csrf_token": csrf_of(form),
            "name": "Summer term 2 2027-28",
            "start_day": "5",
            "start_month": "6",
            "start_year": "2028",
            "end_day": "19",
            "end_month": "7",
            "end_year": "2028",
        },
    )
    assert done.status_code == 200, text_of(done)
    with client.app.state.sessions() as fresh:
        assert calendar_of(fresh).last_known_day == date(2028, 7, 19)


# ---------------------------------------------------------------- validation


def _add_term(client, **fields):
    data = {
        "name": "Extra term",
        "start_day": "",
        "start_month": "",
        "start_year": "",
        "end_day": "",
        "end_month": "",
        "end_year": "",
    }
    data.update(fields)
    return post_form(client, f"{BASE}/terms/new", data)


def _errors(response) -> dict[str, str]:
    summary = page(response).select(".govuk-error-summary__list a")
    return {a["href"].lstrip("#"): a.get_text(strip=True) for a in summary}


@pytest.fixture
def admin_client(client, db_session):
    factories.admin_client(client, db_session)
    return client


def test_an_overlapping_term_is_refused_on_its_first_day_keeping_what_was_typed(admin_client):
    response = _add_term(
        admin_client,
        name="Clash",
        start_day="19",
        start_month="10",
        start_year="2026",
        end_day="30",
        end_month="10",
        end_year="2026",
    )
    assert response.status_code == 422
    errors = _errors(response)
    assert list(errors) == ["start_day"]
    assert "overlap" in errors["start_day"] and "Friday 23 October 2026" in errors["start_day"]
    fields = {i["name"]: i.get("value") for i in page(response).select("input[name]")}
    assert fields["name"] == "Clash" and fields["start_day"] == "19" and fields["end_day"] == "30"
    assert page(response).select_one("#start-error") or "govuk-error-message" in response.text


def test_a_term_ending_before_it_starts_and_missing_parts_name_their_fields(admin_client):
    backwards = _add_term(
        admin_client,
        start_day="20",
        start_month="8",
        start_year="2028",
        end_day="1",
        end_month="8",
        end_year="2028",
    )
    assert _errors(backwards) == {
        "end_day": "The last day of the term must be on or after its first day"
    }
    missing = _add_term(admin_client, name="", start_day="1", start_year="2028")
    errors = _errors(missing)
    assert errors["name"].startswith("Enter the term's name")
    assert errors["start_month"] == "The first day of the term must include a month"
    assert errors["end_day"] == "Enter the last day of the term"
    nonsense = _add_term(
        admin_client,
        start_day="31",
        start_month="2",
        start_year="2028",
        end_day="x",
        end_month="3",
        end_year="28",
    )
    errors = _errors(nonsense)
    assert "real date" in errors["start_day"] and "real date" in errors["end_day"]


def test_closure_days_are_checked_by_the_calendar(admin_client, db_session):
    def add(day, month, year, reason="INSET"):
        return post_form(
            admin_client,
            f"{BASE}/closures/new",
            {"day_day": day, "day_month": month, "day_year": year, "reason": reason},
        )

    outside = add("12", "8", "2027")
    assert outside.status_code == 422
    assert "not inside any term" in _errors(outside)["day_day"]
    assert "Thursday 12 August 2027" in _errors(outside)["day_day"]
    weekend = add("28", "11", "2026")
    assert "weekend" in _errors(weekend)["day_day"]
    bank = add("3", "5", "2027")
    assert "bank holiday" in _errors(bank)["day_day"]
    twice = add("2", "11", "2026")
    assert "already a closure day" in _errors(twice)["day_day"]
    no_reason = add("27", "11", "2026", reason=" ")
    assert _errors(no_reason) == {"reason": "Enter why the school is closed, like INSET"}
    kept = {i["name"]: i.get("value") for i in page(no_reason).select("input[name]")}
    assert (kept["day_day"], kept["day_month"], kept["day_year"]) == ("27", "11", "2026")
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(SchoolClosure)) == 12


def test_a_closure_is_removed_and_counts_again(admin_client, db_session):
    closure_id = db_session.scalars(
        select(SchoolClosure.id).where(SchoolClosure.day == date(2026, 11, 2))
    ).one()
    confirm = admin_client.get(f"{BASE}/closures/{closure_id}/remove")
    done = admin_client.post(
        f"{BASE}/closures/{closure_id}/remove", data={"csrf_token": csrf_of(confirm)}
    )
    assert "Monday 2 November 2026 is no longer a closure day" in text_of(done)
    again = admin_client.post(
        f"{BASE}/closures/{closure_id}/remove", data={"csrf_token": csrf_of(confirm)}
    )
    assert again.status_code == 409
    assert "Someone else changed the term dates" in text_of(again)


# ---------------------------------------------------------------- the page


def test_the_year_calendar_marks_every_day_with_words(admin_client):
    response = admin_client.get(BASE)
    assert response.status_code == 200
    html = page(response)
    captions = [c.get_text(strip=True) for c in html.select("table.school-cal__month caption")]
    assert captions[:2] == ["September 2026", "October 2026"] and len(captions) == 24
    september = html.select("table.school-cal__month")[0]
    hidden = [s.get_text(strip=True) for s in september.select("td .govuk-visually-hidden")]
    assert hidden[0] == "1: closure day (INSET)"  # Tuesday 1 September 2026
    assert "3: term day" in hidden and "5: weekend" in hidden
    may = html.select("table.school-cal__month")[8]
    assert "3: bank holiday (May Day)" in [
        s.get_text(strip=True) for s in may.select("td .govuk-visually-hidden")
    ]
    assert "2026 to 2027: 190 school days" in text_of(response)
    assert "School settings" in [a.get_text(strip=True) for a in html.select("nav a")]


def test_a_school_with_no_term_dates_is_told_to_add_them(app, admin_client, db_session):
    with app.state.sessions() as session:
        school_id = school_of(session).id
        for row in session.scalars(select(SchoolClosure)):
            session.delete(row)
        for row in session.scalars(select(SchoolTerm)):
            session.delete(row)
        session.commit()
    words = text_of(admin_client.get(BASE))
    assert "No term dates yet: add them" in words
    assert school_id is not None
    home = text_of(admin_client.get("/staff"))
    assert "No term dates yet: add them" in home


# ---------------------------------------------------------------- who may use the pages


def _term_routes(app):
    return [
        (method, route.path, route)
        for route in api_routes(app)
        if route.path.startswith(BASE)
        for method in sorted(route.methods - {"HEAD"})
    ]


def test_every_term_dates_route_is_for_admins_only(app, client, db_session, cast):
    from tests.test_access_matrix import required_roles

    routes = _term_routes(app)
    assert len(routes) == 14
    for _method, path, route in routes:
        assert required_roles(route) == {Role.admin}, path
    term_id = _term_id(db_session, "Autumn term 1 2026-27")
    closure_id = db_session.scalars(select(SchoolClosure.id)).first()
    for user in (cast.office, cast.head, cast.chair, cast.clerk, cast.governors[0]):
        client.cookies.clear()
        sign_in(client, user)
        token = csrf_of(client.get("/staff"))
        for method, path, _route in routes:
            url = path.replace("{term_id}", str(term_id)).replace("{closure_id}", str(closure_id))
            if method == "GET":
                response = client.get(url, follow_redirects=False)
            else:
                response = client.post(url, data={"csrf_token": token}, follow_redirects=False)
            assert response.status_code == 403, (user.name, method, url)
    client.cookies.clear()
    for method, path, _route in routes:
        if method == "GET":
            url = path.replace("{term_id}", "1").replace("{closure_id}", "1")
            response = client.get(url, follow_redirects=False)
            assert response.status_code == 303 and "/staff/login" in response.headers["location"]
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(SchoolTerm)) == 12
    assert db_session.scalar(select(func.count()).select_from(SchoolClosure)) == 12


def test_another_schools_term_is_not_found(admin_client):
    assert admin_client.get(f"{BASE}/terms/999999").status_code == 404
    assert admin_client.get(f"{BASE}/closures/999999/remove").status_code == 404


# ---------------------------------------------------------------- two admins at once


def _at_once(app, actions):
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(action) -> None:
        with app.state.sessions() as session:
            barrier.wait(timeout=60)
            try:
                action(session)
                session.commit()
                result = "won"
            except rules.TermDatesInputError as error:
                session.rollback()
                result = "refused: " + "; ".join(error.errors.values())
            except (rules.TermDatesConflict, OperationalError):
                session.rollback()
                result = "conflict"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.committed
def test_two_admins_adding_overlapping_terms_at_once_land_one_after_the_other(
    app, db_session, cast
):
    first = make_user(db_session, Role.admin, name="First Admin")
    second = make_user(db_session, Role.admin, name="Second Admin")
    make_case(db_session, app.state.settings, cast, "open")

    def adding(user, name, start, end):
        def action(session):
            rules.add_term(session, session.merge(user), rules.TermInput(name, start, end))

        return action

    outcomes = _at_once(
        app,
        [
            adding(first, "Autumn A", date(2028, 9, 4), date(2028, 10, 20)),
            adding(second, "Autumn B", date(2028, 9, 11), date(2028, 10, 27)),
        ],
    )
    assert outcomes.count("won") == 1, outcomes
    [other] = [o for o in outcomes if o != "won"]
    assert other == "conflict" or "overlap" in other
    with app.state.sessions() as session:
        terms = [Term(t.name, t.start, t.end) for t in session.scalars(select(SchoolTerm))]
        SchoolCalendar(terms)  # never two overlapping terms stored
        assert len(terms) == 13


@pytest.mark.committed
def test_two_admins_adding_different_closures_at_once_both_land(app, db_session, cast):
    first = make_user(db_session, Role.admin, name="First Admin")
    second = make_user(db_session, Role.admin, name="Second Admin")
    case = make_case(db_session, app.state.settings, cast, "open")

    def adding(user, day):
        def action(session):
            rules.add_closure(session, session.merge(user), rules.ClosureInput(day, "INSET"))

        return action

    outcomes = _at_once(
        app, [adding(first, date(2026, 11, 27)), adding(second, date(2026, 11, 30))]
    )
    assert all(o in ("won", "conflict") for o in outcomes), outcomes
    assert "won" in outcomes
    with app.state.sessions() as session:
        closures = set(session.scalars(select(SchoolClosure.day)))
        stored = session.get(Complaint, case.id)
        expected = services.compute_deadline(
            calendar_of(session), stored.deadline_from, stored.deadline_school_days
        )
        # Whatever landed, the case's stored deadline is the one the stored dates give.
        assert stored.next_deadline == expected
        won = outcomes.count("won")
        assert len({date(2026, 11, 27), date(2026, 11, 30)} & closures) == won


def test_a_change_to_a_term_someone_else_just_removed_says_so(client, db_session):
    admin = make_user(db_session, Role.admin)
    sign_in(client, admin)
    term_id = _term_id(db_session, "Summer term 2 2027-28")
    form = client.get(f"{BASE}/terms/{term_id}")
    other = make_user(db_session, Role.admin, name="Other Admin")
    with client.app.state.sessions() as session:
        rules.remove_term(session, session.merge(other), term_id)
        session.commit()
    response = client.post(
        f"{BASE}/terms/{term_id}",
        data={
            "csrf_token": csrf_of(form),
            "name": "Summer term 2 2027-28",
            "start_day": "5",
            "start_month": "6",
            "start_year": "2028",
            "end_day": "19",
            "end_month": "7",
            "end_year": "2028",
        },
    )
    assert response.status_code == 409
    assert "Someone else changed the term dates while you were looking" in text_of(response)


def test_a_bad_change_to_a_term_someone_else_just_removed_says_so_too(client, db_session):
    admin = make_user(db_session, Role.admin)
    sign_in(client, admin)
    term_id = _term_id(db_session, "Summer term 2 2027-28")
    form = client.get(f"{BASE}/terms/{term_id}")
    with client.app.state.sessions() as session:
        rules.remove_term(session, session.merge(admin), term_id)
        session.commit()
    response = client.post(
        f"{BASE}/terms/{term_id}", data={"csrf_token": csrf_of(form), "name": ""}
    )
    assert response.status_code == 409
    assert "Someone else changed the term dates" in text_of(response)
