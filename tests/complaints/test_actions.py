"""The one table of staff actions: every action route has a row, and the case page shows a form
only to someone the route would let through."""

from __future__ import annotations

import pytest

from portal.complaints.actions import ACTIONS, permitted, shown
from tests.factories import STATES, make_case, make_cast
from tests.routes import api_routes

ACTION_PREFIX = "/staff/complaints/{reference}/"


def test_every_action_route_has_a_row_in_the_table_and_every_row_a_route(app):
    routes = {
        route.path.removeprefix(ACTION_PREFIX)
        for route in api_routes(app)
        if route.path.startswith(ACTION_PREFIX) and "POST" in route.methods
    }
    assert routes == set(ACTIONS)


@pytest.mark.parametrize("state", STATES)
def test_a_form_is_shown_only_to_someone_permitted_to_use_it(db_session, settings, state):
    cast = make_cast(db_session)
    case = make_case(db_session, settings, cast, state)
    people = [cast.office, cast.head, cast.chair, cast.clerk, *cast.governors]
    for person in people:
        may = permitted(db_session, person, case)
        for name, visible in shown(db_session, person, case).items():
            assert not visible or may[name], (person.name, name, state)
