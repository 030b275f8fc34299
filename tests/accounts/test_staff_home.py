"""The staff home page: what needs this person's attention."""

from __future__ import annotations

from tests.conftest import page, text_of
from tests.factories import make_case, make_cast, sign_in


def test_the_head_sees_their_own_open_cases_first(client, db_session, settings):
    cast = make_cast(db_session)
    case = make_case(db_session, settings, cast, "open")
    sign_in(client, cast.head)
    response = client.get("/staff")
    links = [a["href"] for a in page(response).select("table a")]
    assert f"/staff/complaints/{case.reference}" in links
    assert "1 being looked into" in text_of(response)


def test_office_staff_with_nothing_assigned_are_told_so(client, db_session, settings):
    cast = make_cast(db_session)
    make_case(db_session, settings, cast, "open")
    sign_in(client, cast.office)
    assert "Nothing is waiting for you to do." in text_of(client.get("/staff"))
