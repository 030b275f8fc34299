"""Two presses at once: an event is sent once, a class is reminded once, and a parent's two
confirmations at once make one record and send a waiting event's details once."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.consent.models import Confirmation, ConfirmationReminder
from portal.mail import OutboxMessage
from tests.conftest import TEST_SECRET, csrf_of
from tests.consent.confirming import create_event
from tests.consent.families import sign_in_parent, two_families
from tests.factories import make_user, sign_in

pytestmark = pytest.mark.committed


def _at_once(posts: list[Callable[[], int]]) -> list[int]:
    codes = [0] * len(posts)
    barrier = threading.Barrier(len(posts))

    def run(i: int) -> None:
        barrier.wait()
        codes[i] = posts[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(posts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return codes


def _subjects(db_session, subject: str) -> int:
    db_session.expire_all()
    return db_session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.subject == subject)
    )


def _staff(app, db_session, count: int) -> list[TestClient]:
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(count)]
    for client, role in zip(clients, (Role.office, Role.head), strict=False):
        sign_in(client, make_user(db_session, role))
    return clients


def test_an_event_sent_twice_at_once_is_sent_once(app, db_session):
    two_families(db_session)
    clients = _staff(app, db_session, 2)
    event = create_event(clients[0], db_session)
    path = f"/staff/events/{event.id}"
    tokens = [csrf_of(client.get(path)) for client in clients]

    def press(i: int) -> Callable[[], int]:
        return lambda: (
            clients[i]
            .post(path + "/send", data={"csrf_token": tokens[i]}, follow_redirects=False)
            .status_code
        )

    assert sorted(_at_once([press(0), press(1)])) == [303, 409]
    assert _subjects(db_session, "Before Sports day: please confirm our photo guidance") == 4


def test_a_class_reminded_twice_at_once_is_reminded_once(app, db_session):
    two_families(db_session)
    clients = _staff(app, db_session, 2)
    tokens = [csrf_of(client.get("/staff/confirmations")) for client in clients]
    data = {"document": "photo-guidance", "class_name": "3B"}

    def press(i: int) -> Callable[[], int]:
        return lambda: (
            clients[i]
            .post(
                "/staff/confirmations/remind",
                data={"csrf_token": tokens[i], **data},
                follow_redirects=False,
            )
            .status_code
        )

    assert sorted(_at_once([press(0), press(1)])) == [303, 409]
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(ConfirmationReminder)) == 1
    assert _subjects(db_session, "Please read and confirm: Photo guidance for school events") == 4


def test_a_parent_confirming_twice_at_once_is_recorded_once_and_told_once(app, db_session):
    two_families(db_session)
    staff = _staff(app, db_session, 1)[0]
    event = create_event(staff, db_session)
    path = f"/staff/events/{event.id}"
    staff.post(path + "/send", data={"csrf_token": csrf_of(staff.get(path))})
    parents = [TestClient(app, raise_server_exceptions=False) for _ in range(2)]
    sign_in_parent(parents[0], db_session, TEST_SECRET, "sarah@example.com")
    sign_in_parent(parents[1], db_session, TEST_SECRET, "sarah@example.com")
    tokens = [csrf_of(parent.get("/photos/guidance")) for parent in parents]

    def press(i: int) -> Callable[[], int]:
        return lambda: (
            parents[i]
            .post(
                "/photos/guidance",
                data={"csrf_token": tokens[i], "read": "yes", "version": "1"},
                follow_redirects=False,
            )
            .status_code
        )

    assert _at_once([press(0), press(1)]) == [303, 303]
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(Confirmation)) == 1
    assert _subjects(db_session, "Sports day: the details") == 1
