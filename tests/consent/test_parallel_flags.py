"""Two people restricting the same pupil at once: one flag, the other is told."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.consent.models import Pupil, SafeguardingFlag
from tests.conftest import csrf_of
from tests.consent.helpers import ROWS, import_file, pupil_file
from tests.factories import make_user, sign_in

pytestmark = pytest.mark.committed


def test_two_restrictions_at_once_make_one_flag(app, db_session):
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(2)]
    sign_in(clients[0], make_user(db_session, Role.office))
    sign_in(clients[1], make_user(db_session, Role.head))
    import_file(clients[0], pupil_file(*ROWS))
    pupil_id = db_session.scalar(select(Pupil.id).where(Pupil.mis_id == "A001"))
    url = f"/staff/pupils/{pupil_id}"
    tokens = [csrf_of(client.get(url)) for client in clients]
    codes = [0, 0]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        response = clients[i].post(
            url + "/restrict",
            data={"csrf_token": tokens[i], "kind": "at_risk", "reason": f"Reason {i}"},
            follow_redirects=False,
        )
        codes[i] = response.status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes) == [303, 422], codes
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(SafeguardingFlag)) == 1
