"""Each person's home: "your move" (soonest date first, overdue leading) apart from "waiting for
someone else", and a week view of what falls due, all through the one visibility rule."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.complaints import services
from portal.complaints.models import About, Complaint
from tests.conftest import page, text_of
from tests.factories import make_case, sign_in


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


def _section(response, caption_id: str) -> list[str]:
    table = page(response).find(id=caption_id)
    if table is None:
        return []
    return [a.text.strip() for a in table.find_parent("table").select("tbody a")]


def test_office_sees_new_cases_as_its_move_and_sorted_ones_as_waiting(
    client, db_session, settings, cast
):
    new = make_case(db_session, settings, cast, "new")
    sorted_case = make_case(db_session, settings, cast, "open", parent_email="b@example.com")
    about_head = make_case(db_session, settings, cast, "new", about=About.head)
    sign_in(client, cast.office)
    home = client.get("/staff")
    assert _section(home, "your-move-caption") == [new.reference]
    assert "Sort it and give it to a handler" in text_of(home)
    assert _section(home, "waiting-caption") == [sorted_case.reference]
    assert f"Being looked into by {cast.head.name}" in text_of(home)
    assert about_head.reference not in home.text  # never a case office may not see


def test_the_head_sees_what_he_must_answer_apart_from_what_waits_on_the_parent(
    client, db_session, settings, cast
):
    waiting_on_him = make_case(db_session, settings, cast, "open")
    answered = make_case(db_session, settings, cast, "responded", parent_email="c@example.com")
    unsorted = make_case(db_session, settings, cast, "new", parent_email="d@example.com")
    sign_in(client, cast.head)
    home = client.get("/staff")
    assert _section(home, "your-move-caption") == [waiting_on_him.reference]
    waiting = _section(home, "waiting-caption")
    assert answered.reference in waiting and unsorted.reference in waiting
    assert "the parent may ask for the next stage" in text_of(home)


def test_overdue_cases_lead_the_move_list(client, db_session, settings, cast):
    later = make_case(db_session, settings, cast, "open")
    earlier = make_case(db_session, settings, cast, "open", parent_email="e@example.com")
    earlier.next_deadline = earlier.queue_date = date(2026, 11, 2)  # long past: overdue
    db_session.add(earlier)
    db_session.commit()
    sign_in(client, cast.head)
    home = client.get("/staff")
    assert _section(home, "your-move-caption") == [earlier.reference, later.reference]
    assert "Overdue" in text_of(home)


def test_the_week_view_shows_each_day_and_whose_move(client, db_session, settings, cast):
    mine = make_case(db_session, settings, cast, "open")
    other = make_case(db_session, settings, cast, "new", parent_email="f@example.com")
    hidden = make_case(db_session, settings, cast, "new", about=About.head)
    for case in (mine, other, hidden):
        case.next_deadline = case.queue_date = date(2026, 11, 26)  # Thursday of this week
        db_session.add(case)
    db_session.commit()
    sign_in(client, cast.head)
    week = client.get("/staff/complaints/week")
    assert week.status_code == 200
    words = text_of(week)
    assert "What falls due in the week of Monday 23 November 2026" in words
    thursday = _section(week, "day-4")
    assert thursday == [mine.reference, other.reference]
    assert hidden.reference not in week.text
    assert "Your move" in words
    next_week = client.get("/staff/complaints/week?week=2026-12-02")
    assert "week of Monday 30 November 2026" in text_of(next_week)
    assert mine.reference not in next_week.text


@pytest.mark.parametrize("week", ["nonsense", "99999-01-01", "0001-01-01", "2026-02-30", "\u202e"])
def test_a_week_that_is_not_a_date_shows_this_week(client, db_session, settings, cast, week):
    sign_in(client, cast.office)
    response = client.get("/staff/complaints/week", params={"week": week})
    assert response.status_code == 200
    assert "week of Monday 23 November 2026" in text_of(response)


def test_home_lists_never_hold_a_case_about_the_person(db_session, settings, cast):
    named = make_case(
        db_session, settings, cast, "new", about=About.staff, about_name="Janet Okafor"
    )
    home = services.home_lists(db_session, cast.office)
    ids = {case.id for case in [*home.your_move, *home.waiting]}
    assert named.id not in ids
    assert db_session.get(Complaint, named.id) is not None


def test_whose_move_is_the_same_rule_in_sql_and_for_a_loaded_case(db_session, settings, cast):
    cases = [
        make_case(db_session, settings, cast, state, about=about, parent_email=f"p{n}@example.com")
        for n, (state, about) in enumerate(
            [
                ("new", About.school),
                ("new", About.head),
                ("open", About.staff),
                ("open", About.head),
                ("open", About.governor),
                ("responded", About.school),
                ("closed", About.school),
            ]
        )
    ]
    ids = [case.id for case in cases]
    for person in (cast.office, cast.head, cast.chair, cast.clerk):
        in_sql = set(
            db_session.scalars(
                select(Complaint.id).where(Complaint.id.in_(ids), services.your_move_clause(person))
            )
        )
        assert in_sql == {case.id for case in cases if services.is_your_move(person, case)}
        home = services.home_lists(db_session, person)
        visible_mine = set(
            db_session.scalars(
                select(Complaint.id).where(
                    services.your_move_clause(person), services.visibility_clause(person)
                )
            )
        )
        assert home.your_move_count == len(visible_mine)
        assert {case.id for case in home.your_move} == visible_mine


def test_the_counts_on_the_home_are_the_cases_each_person_may_see(db_session, settings, cast):
    states = [
        ("new", About.school),
        ("open", About.head),
        ("panel", About.school),
        ("panel", About.governor),
        ("closed", About.staff),
    ]
    for n, (state, about) in enumerate(states):
        make_case(db_session, settings, cast, state, about=about, parent_email=f"q{n}@example.com")
    for person in (cast.office, cast.head, cast.chair, cast.clerk, *cast.governors):
        seen = dict(
            db_session.execute(
                select(Complaint.status, func.count())
                .where(services.visibility_clause(person))
                .group_by(Complaint.status)
            ).all()
        )
        counts = services.status_counts(db_session, person)
        assert {str(status): n for status, n in counts.items() if n} == seen, person.name


def test_the_week_shows_the_longest_overdue_and_points_to_the_queue_for_the_rest(
    client, db_session, settings, cast, monkeypatch
):
    from portal.complaints.services import home

    monkeypatch.setattr(home, "OVERDUE_SHOWN", 2)
    cases = [
        make_case(db_session, settings, cast, "open", parent_email=f"o{n}@example.com")
        for n in range(3)
    ]
    for day, case in zip((3, 2, 4), cases, strict=True):
        case.next_deadline = case.queue_date = date(2026, 11, day)
        db_session.add(case)
    db_session.commit()
    sign_in(client, cast.head)
    week = client.get("/staff/complaints/week")
    assert _section(week, "overdue-caption") == [cases[1].reference, cases[0].reference]
    words = text_of(week)
    assert "Overdue: the 2 waiting longest" in words
    assert page(week).select_one("a[href='/staff/complaints?overdue=1']") is not None
