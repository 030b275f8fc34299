"""Office confirming imports at the same moment: the register never gets a pupil twice, an
import is written once, and nobody sees an error page."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.consent.models import Pupil
from portal.consent.services import register
from portal.history import HistoryEvent
from tests.conftest import csrf_of
from tests.consent.helpers import MAPPING, ROWS, pupil_file, upload
from tests.factories import make_user, sign_in

pytestmark = pytest.mark.committed


def _fire(count: int, run) -> None:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(count)
    threads = [threading.Thread(target=run, args=(i, barrier)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


def _previewed(client: TestClient) -> str:
    response = upload(client, pupil_file(*ROWS))
    location = response.headers["location"]
    if location.endswith("/columns"):
        token = csrf_of(client.get(location))
        location = client.post(
            location, data={"csrf_token": token, **MAPPING}, follow_redirects=False
        ).headers["location"]
    return location


def _imported_events(db_session) -> int:
    db_session.expire_all()
    return len(
        db_session.scalars(
            select(HistoryEvent).where(HistoryEvent.tag == register.IMPORTED_TAG)
        ).all()
    )


def test_one_import_confirmed_twice_at_once_is_written_once(app, db_session):
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(2)]
    office = make_user(db_session, Role.office)
    for client in clients:
        sign_in(client, office)
    location = _previewed(clients[0])
    tokens = [csrf_of(client.get(location)) for client in clients]
    codes = [0, 0]

    def run(i: int, barrier: threading.Barrier) -> None:
        barrier.wait()
        response = clients[i].post(
            location + "/confirm", data={"csrf_token": tokens[i]}, follow_redirects=False
        )
        codes[i] = response.status_code

    _fire(2, run)
    assert codes == [303, 303]
    assert db_session.scalar(select(func.count()).select_from(Pupil)) == 3
    assert _imported_events(db_session) == 1


def test_two_imports_of_the_same_pupils_at_once_never_duplicate_them(app, db_session):
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(2)]
    for client in clients:
        sign_in(client, make_user(db_session, Role.office))
    locations = [_previewed(client) for client in clients]
    tokens = [csrf_of(client.get(loc)) for client, loc in zip(clients, locations, strict=True)]
    codes = [0, 0]

    def run(i: int, barrier: threading.Barrier) -> None:
        barrier.wait()
        response = clients[i].post(
            locations[i] + "/confirm", data={"csrf_token": tokens[i]}, follow_redirects=False
        )
        codes[i] = response.status_code

    _fire(2, run)
    assert all(code in (303, 422) for code in codes), codes
    assert 303 in codes
    assert db_session.scalar(select(func.count()).select_from(Pupil)) == 3
    assert sorted(db_session.scalars(select(Pupil.mis_id))) == ["A001", "A002", "A003"]
