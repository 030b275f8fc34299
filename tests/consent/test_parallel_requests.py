"""Two members of staff sending the same class's request at the same moment: the families are
emailed once, one request is recorded, and the other person is told when it went (never an
error page)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.consent.models import ConsentRequest, ConsentRequestClass
from portal.mail import OutboxMessage
from tests.conftest import csrf_of
from tests.consent.helpers import ROWS, import_file, pupil_file
from tests.factories import make_user, sign_in

pytestmark = pytest.mark.committed

PREVIEW = "/staff/consent-reports/request?group=class%3A3B&purpose=website&purpose=video"


def _fire(clients: list[TestClient], form: dict[str, object], tokens: list[str]) -> list[int]:
    codes = [0] * len(clients)
    texts = [""] * len(clients)
    barrier = threading.Barrier(len(clients))

    def run(i: int) -> None:
        barrier.wait()
        response = clients[i].post(
            "/staff/consent-reports/request",
            data={"csrf_token": tokens[i], **form},
            follow_redirects=False,
        )
        codes[i] = response.status_code
        texts[i] = response.text

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    refused = [text for code, text in zip(codes, texts, strict=True) if code == 422]
    assert all("A request to the families of 3B" in text for text in refused)
    return codes


def _count(db_session, model) -> int:  # type: ignore[no-untyped-def]
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("earlier", [False, True], ids=["first-ever", "after-the-interval"])
def test_two_sends_at_once_email_the_families_once(app, db_session, clock, earlier):
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(3)]
    sign_in(clients[0], make_user(db_session, Role.office))
    sign_in(clients[1], make_user(db_session, Role.admin))
    sign_in(clients[2], make_user(db_session, Role.office, name="Second Office"))
    import_file(clients[0], pupil_file(*ROWS))
    if earlier:
        # The class had a request long ago: its row is claimed by a conditional update.
        token = csrf_of(clients[0].get(PREVIEW))
        first = clients[0].post(
            "/staff/consent-reports/request",
            data={"csrf_token": token, "group": "class:3B", "purposes": ["displays"]},
            follow_redirects=False,
        )
        assert first.status_code == 303
        clock.advance(timedelta(days=8))
        for client, role in zip(clients, (Role.office, Role.admin, Role.office), strict=True):
            client.cookies.clear()
            sign_in(client, make_user(db_session, role))
    before = _count(db_session, OutboxMessage)
    requests_before = _count(db_session, ConsentRequest)
    tokens = [csrf_of(client.get(PREVIEW)) for client in clients]
    codes = _fire(clients, {"group": "class:3B", "purposes": ["website", "video"]}, tokens)
    assert sorted(codes) == [303, 422, 422], codes
    assert _count(db_session, ConsentRequest) == requests_before + 1
    assert _count(db_session, ConsentRequestClass) == 1
    # Sarah, Tom (Millie) and Róisín (Zoë): three emails, once.
    assert _count(db_session, OutboxMessage) - before == 3
