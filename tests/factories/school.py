"""The demo school the tests run against (the `app` fixture provides it), and quick ways to change
its profile or term dates the way an admin's edit would (then seen by the next request)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import FastAPI

from portal.calendar import Term
from portal.school.services import (
    School,
    calendar_of,
    profile_row,
    replace_term_dates,
    school_of,
)


def school_now(app: FastAPI) -> School:
    with app.state.sessions() as session:
        return school_of(session)


def change_school(app: FastAPI, **values: Any) -> School:
    with app.state.sessions() as session:
        row = profile_row(session)
        assert row is not None, "the test school is made by the app fixture"
        for name, value in values.items():
            assert hasattr(row, name), name
            setattr(row, name, value)
        session.add(row)
        session.commit()
        session.info.clear()
        return school_of(session)


def add_closures(app: FastAPI, *days: date) -> None:
    """Close the school on these days (an INSET day added mid-year, say)."""
    with app.state.sessions() as session:
        school = school_of(session)
        calendar = calendar_of(session)
        assert school.id is not None
        terms = [Term(t.name, t.start, t.end) for t in calendar.terms]
        replace_term_dates(session, school.id, terms, [*calendar.closures, *days])
        session.commit()
