"""Admins saving at the same moment: every change is kept or refused out loud, never lost."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from portal.school import profile as rules
from tests.conftest import csrf_of, page
from tests.factories import admin_client, school_now
from tests.school.helpers import school_events

# Real requests racing on their own connections, as in production.
pytestmark = pytest.mark.committed


def _fire(count: int, run) -> None:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(count)
    threads = [threading.Thread(target=run, args=(i, barrier)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


def test_parallel_saves_of_one_setting_one_wins_the_rest_are_told(app, db_session):
    count = 8
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(count)]
    forms = []
    for number, client in enumerate(clients):
        admin_client(client, db_session, name=f"Admin {number}")
        form = client.get("/staff/settings/name")
        forms.append((csrf_of(form), page(form).select_one("input[name=seen]")["value"]))
    before = len(school_events(db_session))
    codes: list[int] = [0] * count

    def run(i: int, barrier: threading.Barrier) -> None:
        csrf, seen = forms[i]
        barrier.wait()
        response = clients[i].post(
            "/staff/settings/name",
            data={"name": f"School number {i}", "seen": seen, "csrf_token": csrf},
            follow_redirects=False,
        )
        codes[i] = response.status_code

    _fire(count, run)
    assert sorted(codes) == [303] + [409] * (count - 1), codes
    winner = codes.index(303)
    assert school_now(app).name == f"School number {winner}"
    events = school_events(db_session)[before:]
    assert [e.details["to"] for e in events] == [f"School number {winner}"]


def test_parallel_saves_of_different_settings_all_keep(app, db_session):
    """Each admin changes a different setting from the same starting page: none is lost, and
    each history event's "from" is the value the change replaced."""
    client_a = TestClient(app, raise_server_exceptions=False)
    client_b = TestClient(app, raise_server_exceptions=False)
    client_c = TestClient(app, raise_server_exceptions=False)
    for number, client in enumerate((client_a, client_b, client_c)):
        admin_client(client, db_session, name=f"Admin {number}")
    plans = [
        (client_a, "/staff/settings/name", {"name": "Parallel School"}),
        (client_b, "/staff/settings/colour", {"brand_colour": "#003300"}),
        (
            client_c,
            "/staff/settings/categories",
            {"categories": "Teaching\nBehaviour\nSomething else"},
        ),
    ]
    prepared = []
    for client, path, data in plans:
        form = client.get(path)
        prepared.append(
            (
                client,
                path,
                {
                    **data,
                    "csrf_token": csrf_of(form),
                    "seen": page(form).select_one("input[name=seen]")["value"],
                },
            )
        )
    codes = [0] * len(prepared)

    def run(i: int, barrier: threading.Barrier) -> None:
        client, path, data = prepared[i]
        barrier.wait()
        codes[i] = client.post(path, data=data, follow_redirects=False).status_code

    before = len(school_events(db_session))
    _fire(len(prepared), run)
    assert codes == [303, 303, 303]
    school = school_now(app)
    assert school.name == "Parallel School"
    assert school.brand_colour == "#003300"
    assert school.categories == ("Teaching", "Behaviour", "Something else")
    events = school_events(db_session)[before:]
    assert sorted(e.details["field"] for e in events) == ["brand_colour", "categories", "name"]
    assert all(e.tag == rules.CHANGED_TAG for e in events)
