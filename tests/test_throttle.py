"""Limits hold under bursts: every attempt is counted before the work it guards.

Each test sends many requests at once from threads, each thread with its own TestClient (its own
event loop), and slows down or holds the guarded work so that, had the limit been tested first and
counted afterwards, every request in the burst would have passed the test.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, TimeoutError
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.accounts import services as account_services
from portal.accounts.models import Role, StaffSession
from portal.complaints import services as complaint_services
from portal.complaints.models import Complaint, ComplaintDraft
from portal.history import history_of
from portal.throttle import Limit, Throttle
from tests.complaints.test_form import fill_in
from tests.conftest import csrf_of
from tests.factories import PASSWORD, make_user, send

STRANGER = "203.0.113.9"
SCHOOL = "192.0.2.10"


def _client(app, address: str = "testclient", cookies: dict | None = None) -> TestClient:
    return TestClient(
        app,
        base_url="http://testserver",
        raise_server_exceptions=False,
        client=(address, 50000),
        cookies=cookies,
    )


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class GatedHasher:
    """The real password hasher, but every check is counted and held until the gate opens."""

    def __init__(self, real) -> None:  # type: ignore[no-untyped-def]
        self.real = real
        self.lock = threading.Lock()
        self.checked = 0
        self.gate = threading.Event()

    def _hold(self) -> None:
        with self.lock:
            self.checked += 1
        self.gate.wait(timeout=15)

    def verify_and_update(self, password, password_hash):  # type: ignore[no-untyped-def]
        self._hold()
        return self.real.verify_and_update(password, password_hash)

    def verify(self, password, password_hash):  # type: ignore[no-untyped-def]
        self._hold()
        return self.real.verify(password, password_hash)

    def hash(self, password):  # type: ignore[no-untyped-def]
        return self.real.hash(password)


def _sign_in_from(app, cookie: str, token: str, address: str, email: str, password: str):
    return _client(app, address, {"portal_csrf": cookie}).post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def _login_form(client) -> tuple[str, str]:
    token = csrf_of(client.get("/staff/login"))
    return client.cookies["portal_csrf"], token


# ---------------------------------------------------------------- the shared module


def test_attempt_counts_first_and_refuses_once_the_limit_is_used(app):
    throttle = Throttle(app.state.limiter)
    limit = Limit.per_hour("example", 3)
    assert [throttle.attempt(limit, "k") for _ in range(5)] == [True, True, True, False, False]
    assert throttle.attempt(limit, "other key")
    throttle.reset(limit, "k")
    assert throttle.attempt(limit, "k")
    assert not throttle.attempt(Limit.per_hour("none allowed", 0), "k")


def test_attempt_all_stops_counting_at_the_first_refusal(app):
    throttle = Throttle(app.state.limiter)
    first, second = Limit.per_hour("first", 1), Limit.per_hour("second", 5)
    assert throttle.attempt_all((first, ("k",)), (second, ("k",))) is None
    assert throttle.attempt_all((first, ("k",)), (second, ("k",))) is first
    # The refused attempt did not use up the second limit: four more are still allowed.
    assert [throttle.attempt(second, "k") for _ in range(5)] == [True] * 4 + [False]


# ---------------------------------------------------------------- sign-in


@pytest.mark.committed
def test_a_burst_of_wrong_passwords_checks_exactly_the_limit_and_the_right_one_stays_out(
    app, client, db_session, settings, monkeypatch
):
    user = make_user(db_session, Role.head)
    gated = GatedHasher(account_services.password_hash)
    monkeypatch.setattr(account_services, "password_hash", gated)
    cookie, token = _login_form(client)

    def attempt(password: str):  # type: ignore[no-untyped-def]
        return _sign_in_from(app, cookie, token, STRANGER, user.email, password)

    with ThreadPoolExecutor(max_workers=64) as pool:
        wrong = [pool.submit(attempt, "not-the-password") for _ in range(60)]
        # Five are being checked (and held); the other 55 were refused without a check.
        refused_at_once = _wait_until(lambda: sum(f.done() for f in wrong) >= 55, timeout=8)
        right = pool.submit(attempt, PASSWORD)
        try:
            right_during_burst = right.result(timeout=5)
        except TimeoutError:
            right_during_burst = None
        gated.gate.set()
        statuses = Counter(f.result(timeout=30).status_code for f in wrong)
        right_response = right.result(timeout=30)

    assert refused_at_once, "requests beyond the limit waited for a password check"
    assert gated.checked == settings.sign_in_failures_allowed == 5
    assert statuses == Counter({401: 5, 429: 55})
    assert right_during_burst is not None and right_during_burst.status_code == 429
    assert right_response.status_code == 429
    assert "portal_session" not in right_response.headers.get("set-cookie", "")
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(StaffSession)) == 0
    failures = [
        e
        for e in history_of(db_session, "staff_user", user.id)
        if e.tag == "account:sign-in-failed"
    ]
    assert len(failures) == 5


def test_strangers_elsewhere_cannot_lock_staff_out_from_the_school(app, client, db_session):
    user = make_user(db_session, Role.office)
    cookie, token = _login_form(client)
    codes = [
        _sign_in_from(app, cookie, token, STRANGER, user.email, "guess-password").status_code
        for _ in range(8)
    ]
    assert codes == [401] * 5 + [429] * 3
    # The stranger is locked out even with the right password...
    assert _sign_in_from(app, cookie, token, STRANGER, user.email, PASSWORD).status_code == 429
    # ...but the member of staff, at the school's own address, signs in.
    response = _sign_in_from(app, cookie, token, SCHOOL, user.email, PASSWORD)
    assert response.status_code == 303
    assert "portal_session=" in response.headers.get("set-cookie", "")


def test_a_right_password_forgives_earlier_typos_from_that_address(app, client, db_session):
    user = make_user(db_session, Role.office)
    cookie, token = _login_form(client)
    for _ in range(4):
        assert _sign_in_from(app, cookie, token, SCHOOL, user.email, "typo").status_code == 401
    assert _sign_in_from(app, cookie, token, SCHOOL, user.email, PASSWORD).status_code == 303
    for _ in range(4):
        assert _sign_in_from(app, cookie, token, SCHOOL, user.email, "typo").status_code == 401


def test_one_address_guessing_many_accounts_is_stopped(app, client, db_session, settings):
    user = make_user(db_session, Role.office)
    cookie, token = _login_form(client)
    for number in range(settings.sign_in_attempts_per_address):
        email = f"guess{number}@school.example"
        assert _sign_in_from(app, cookie, token, STRANGER, email, "x").status_code == 401
    assert _sign_in_from(app, cookie, token, STRANGER, user.email, PASSWORD).status_code == 429
    assert _sign_in_from(app, cookie, token, SCHOOL, user.email, PASSWORD).status_code == 303


def test_guesses_spread_over_many_addresses_meet_the_account_ceiling(
    app, client, db_session, settings
):
    settings.sign_in_attempts_per_account = 12
    user = make_user(db_session, Role.office)
    cookie, token = _login_form(client)
    for number in range(3):
        address = f"198.51.100.{number + 1}"
        for _ in range(4):
            assert _sign_in_from(app, cookie, token, address, user.email, "x").status_code == 401
    assert _sign_in_from(app, cookie, token, SCHOOL, user.email, PASSWORD).status_code == 429


# ---------------------------------------------------------------- the case look-up


@pytest.mark.committed
def test_a_burst_of_case_look_ups_checks_exactly_the_limit(app, client, settings, monkeypatch):
    settings.track_attempts_per_hour_per_address = 20
    real = complaint_services.find_for_parent
    lock = threading.Lock()
    looked_up = []

    def slow_find(*args, **kwargs):  # type: ignore[no-untyped-def]
        with lock:
            looked_up.append(1)
        time.sleep(0.2)
        return real(*args, **kwargs)

    monkeypatch.setattr(complaint_services, "find_for_parent", slow_find)
    token = csrf_of(client.get("/track"))
    cookie = client.cookies["portal_csrf"]

    def look_up(number: int):  # type: ignore[no-untyped-def]
        return _client(app, STRANGER, {"portal_csrf": cookie}).post(
            "/track",
            data={
                "reference": f"C-2345-{number:03d}",
                "email": "x@example.com",
                "csrf_token": token,
            },
            follow_redirects=False,
        )

    with ThreadPoolExecutor(max_workers=100) as pool:
        statuses = Counter(r.status_code for r in pool.map(look_up, range(100)))

    assert len(looked_up) == 20
    assert statuses == Counter({422: 20, 429: 80})


# ---------------------------------------------------------------- complaint submissions


@pytest.fixture
def slow_submit(monkeypatch):  # type: ignore[no-untyped-def]
    real = complaint_services.submit
    calls = []
    one_at_a_time = threading.Lock()

    def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        time.sleep(0.3)
        # The slow part runs in parallel, the writes one at a time (committed here), so this test
        # is about the limit alone: parallel writes of the status counters are the races tests'.
        with one_at_a_time:
            received = real(*args, **kwargs)
            args[0].commit()
            return received

    monkeypatch.setattr(complaint_services, "submit", slow)
    return calls


@pytest.mark.committed
def test_a_burst_of_submissions_stores_exactly_the_limit(app, db_session, settings, slow_submit):
    settings.submissions_per_hour_per_address = 3
    with ExitStack() as stack:
        browsers = [stack.enter_context(_client(app)) for _ in range(8)]
        for browser in browsers:
            fill_in(browser)
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = Counter(r.status_code for r in pool.map(send, browsers))

    assert statuses == Counter({303: 3, 429: 5})
    assert len(slow_submit) == 3
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(Complaint)) == 3
    # The refused parents' answers are kept for when they try again.
    assert db_session.scalar(select(func.count()).select_from(ComplaintDraft)) == 5
