"""One sign-in link used twice at once (two tabs, a mail scanner and the parent): exactly one
use wins and starts a session; the other is told the link no longer works."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.consent.models import ParentSignIn
from portal.consent.parents import PARENT_COOKIE
from tests.conftest import TEST_SECRET, csrf_of
from tests.consent.families import ask_for_link, last_link, two_families

pytestmark = pytest.mark.committed


def test_a_link_used_twice_at_once_signs_in_once(app, db_session):
    two_families(db_session)
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(2)]
    ask_for_link(clients[0], "sarah@example.com")
    path = "/" + last_link(db_session, TEST_SECRET, "sarah@example.com").split("/", 3)[3]
    tokens = [csrf_of(client.get(path)) for client in clients]
    codes = [0, 0]
    cookies = [False, False]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        response = clients[i].post(path, data={"csrf_token": tokens[i]}, follow_redirects=False)
        codes[i] = response.status_code
        cookies[i] = PARENT_COOKIE in response.headers.get("set-cookie", "")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes) == [303, 410]
    assert sorted(cookies) == [False, True]
    db_session.expire_all()
    row = db_session.scalars(select(ParentSignIn)).one()
    assert row.used_at is not None
    winner = clients[codes.index(303)]
    assert winner.get("/photos/answers").status_code == 200
