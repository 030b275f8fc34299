"""The settings stamp: each process keeps the school's settings between requests, and a change
made anywhere (another worker, a command) is seen by the very next request, never a stale copy.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from portal.app import create_app
from portal.school.models import SchoolClosure
from portal.school.services import calendar_of, profile_row, school_of
from portal.wording import services as wording
from portal.wording.catalogue import SAMPLE_CASE
from tests.conftest import text_of
from tests.databases import statements_sent

# Other workers and commands on their own connections: real commits.
pytestmark = pytest.mark.committed

SETTINGS_TABLES = ("school_profile", "school_term", "school_closure", "wording_override")


def _statements_on_settings(engine, run) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        statement[:80]
        for statement in statements_sent(engine, run)
        if any(table in statement for table in SETTINGS_TABLES)
    ]


def test_a_page_reads_only_the_stamp_once_the_settings_are_known(app, client):
    client.get("/complaints/new")  # this process learns the settings
    seen = _statements_on_settings(app.state.engine, lambda: client.get("/complaints/new"))
    assert len(seen) == 1, seen
    assert "settings_stamp" in seen[0]


def test_a_change_made_by_another_worker_is_seen_by_the_next_request(app, client, settings, clock):
    assert "Brookfield" in text_of(client.get("/"))
    other_worker = create_app(settings, clock)
    try:
        with Session(other_worker.state.engine) as session:
            row = profile_row(session)
            assert row is not None
            row.name = "Hillside Primary School"
            session.add(row)
            session.commit()
    finally:
        other_worker.state.engine.dispose()
    assert "Hillside Primary School" in text_of(client.get("/"))


def test_a_change_that_is_rolled_back_is_never_kept(app):
    engine = app.state.engine
    with Session(engine) as session:
        before = school_of(session).name
    with Session(engine) as session:
        row = profile_row(session)
        assert row is not None
        row.name = "Never Saved Academy"
        session.add(row)
        session.flush()
        assert school_of(session).name == "Never Saved Academy"  # its own change, in its own eyes
        session.rollback()
    with Session(engine) as session:
        assert school_of(session).name == before


def test_a_closure_added_elsewhere_moves_the_calendar_at_once(app):
    engine = app.state.engine
    monday = date(2026, 11, 30)
    with Session(engine) as session:
        assert calendar_of(session).is_school_day(monday)
        school_id = school_of(session).id
    with Session(engine) as session:
        session.add(SchoolClosure(school_id=school_id, day=monday, reason="Boiler broken"))
        session.commit()
    with Session(engine) as session:
        assert not calendar_of(session).is_school_day(monday)


def test_a_school_wording_saved_elsewhere_is_used_by_the_next_email(app):
    engine = app.state.engine
    values = {"case": SAMPLE_CASE, "recipient_name": "Jordan Ellison"}
    with Session(engine) as session:
        school = school_of(session)
        assert "Brand new words" not in wording.render(session, "school-message", values).subject
    with Session(engine) as session:
        from portal.history import Actor

        wording.save(
            session,
            school,
            "school-message",
            subject="Brand new words {{ case.reference }}",
            body="Hello {{ recipient_name }}.",
            seen_version=0,
            actor=Actor.system(),
        )
        session.commit()
    with Session(engine) as session:
        rendered = wording.render(session, "school-message", values)
        assert rendered.subject == "Brand new words C-7K4P-2QX"
