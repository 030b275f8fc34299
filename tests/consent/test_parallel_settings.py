"""Two admins changing the same consent setting at once: exactly one change is made (and
recorded), the other admin is told and sees what they typed."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.consent.models import ConsentSettings, Purpose
from portal.consent.services import settings as rules
from portal.consent.services.purposes import purposes
from portal.history import HistoryEvent
from tests.conftest import csrf_of
from tests.factories import make_user, sign_in

pytestmark = pytest.mark.committed
BASE = "/staff/consent-settings"


def race(app, db_session, url: str, plans: list[dict]) -> list[int]:  # type: ignore[no-untyped-def]
    clients = [TestClient(app, raise_server_exceptions=False) for _ in plans]
    for number, client in enumerate(clients):
        sign_in(client, make_user(db_session, Role.admin, name=f"Admin {number}"))
    tokens = [csrf_of(client.get(BASE)) for client in clients]
    codes = [0] * len(plans)
    barrier = threading.Barrier(len(plans))

    def run(i: int) -> None:
        barrier.wait()
        response = clients[i].post(
            url, data={"csrf_token": tokens[i], **plans[i]}, follow_redirects=False
        )
        codes[i] = response.status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(plans))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db_session.expire_all()
    return codes


def events(db_session, tag: str) -> int:  # type: ignore[no-untyped-def]
    return db_session.scalar(
        select(func.count()).select_from(HistoryEvent).where(HistoryEvent.tag == tag)
    )


def test_two_new_wordings_at_once_one_wins_and_the_version_moves_once(app, db_session):
    website = next(p for p in purposes(db_session) if p.key == "website")
    db_session.commit()
    plans = [
        {"name": "School website", "wording": f"Wording {n}.", "asks_naming": "yes", "seen": "0"}
        for n in (1, 2)
    ]
    codes = race(app, db_session, f"{BASE}/purposes/{website.id}", plans)
    assert sorted(codes) == [303, 409]
    website = db_session.get(Purpose, website.id)
    winner = codes.index(303) + 1
    assert (website.version, website.wording) == (2, f"Wording {winner}.")
    assert events(db_session, rules.PURPOSE_CHANGED_TAG) == 1


def test_two_validity_changes_on_a_school_with_no_settings_row_yet_one_wins(app, db_session):
    assert db_session.scalar(select(ConsentSettings)) is None
    plans = [{"validity": "key_stage", "seen": "0"}, {"validity": "while_at_school", "seen": "0"}]
    codes = race(app, db_session, f"{BASE}/how-long", plans)
    assert sorted(codes) == [303, 409]
    rows = db_session.scalars(select(ConsentSettings)).all()
    assert len(rows) == 1
    assert rows[0].validity == plans[codes.index(303)]["validity"]
    assert rows[0].revision == 1
    assert events(db_session, rules.VALIDITY_TAG) == 1


def test_two_moves_from_the_same_page_move_once(app, db_session):
    every = purposes(db_session)
    db_session.commit()
    video = every[-1]
    order = rules.order_token(every)
    plans = [{"direction": "up", "seen": order}, {"direction": "up", "seen": order}]
    codes = race(app, db_session, f"{BASE}/purposes/{video.id}/move", plans)
    assert sorted(codes) == [303, 409]
    assert [p.key for p in purposes(db_session)][-2:] == ["video", "local_press"]
    assert sorted(p.position for p in purposes(db_session)) == list(range(1, 7))


def test_retiring_the_last_two_uses_at_once_keeps_one(app, db_session):
    admin = make_user(db_session, Role.admin)
    every = purposes(db_session)
    for purpose in every[:-2]:
        rules.set_active(db_session, admin, purpose.id, False, seen_revision=0)
    db_session.commit()
    last_two = every[-2:]
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(2)]
    for client in clients:
        sign_in(client, make_user(db_session, Role.admin))
    tokens = [csrf_of(client.get(BASE)) for client in clients]
    codes = [0, 0]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        codes[i] = (
            clients[i]
            .post(
                f"{BASE}/purposes/{last_two[i].id}/retire",
                data={"csrf_token": tokens[i], "seen": "0"},
                follow_redirects=False,
            )
            .status_code
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db_session.expire_all()
    assert sorted(codes) == [303, 409]
    assert len(purposes(db_session)) == 1


def test_two_changes_to_how_the_school_asks_at_once_one_wins(app, db_session):
    plans = [
        {
            "ask_pupils": "yes",
            "request_interval_days": "14",
            "confirmation_reminder_days": "7",
            "seen": "0",
        },
        {
            "ask_pupils": "no",
            "request_interval_days": "3",
            "confirmation_reminder_days": "10",
            "seen": "0",
        },
    ]
    codes = race(app, db_session, f"{BASE}/asking", plans)
    assert sorted(codes) == [303, 409]
    row = db_session.scalars(select(ConsentSettings)).one()
    won = plans[codes.index(303)]
    assert row.request_interval_days == int(won["request_interval_days"])
    assert row.ask_pupils_12_and_over is (won["ask_pupils"] == "yes")
    assert row.revision == 1
