"""`/healthz` for load balancers and `/healthz?deep=1` for monitoring: states and counts only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session

from portal.db import make_engine
from portal.mail import OutboxStatus, queue_mail


def test_the_plain_health_check_says_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.committed
def test_the_deep_health_check_counts_the_mail_waiting(app, client, clock):
    with Session(app.state.engine) as session:
        fresh = queue_mail(session, to="parent@example.com", subject="Fresh", body_text="Hello")
        stuck = queue_mail(session, to="secret-parent@example.com", subject="Stuck", body_text="x")
        stuck.next_attempt_at = clock.now() - timedelta(hours=1)
        given_up = queue_mail(session, to="gone@example.com", subject="Gone", body_text="x")
        given_up.status = OutboxStatus.failed.value
        session.commit()
        assert fresh.id
    deep = client.get("/healthz?deep=1")
    assert deep.status_code == 200
    assert deep.json() == {
        "status": "degraded",
        "mail": {"waiting": 2, "overdue": 1, "failed_last_day": 1},
        "database": "ok",
        "redis": "not used",
        "rate_limits": "in-process",
    }
    assert "secret-parent" not in deep.text and "Stuck" not in deep.text


def test_an_unreachable_database_is_503_and_names_nothing(app, client):
    app.state.engine = make_engine("postgresql+psycopg://portal:db-pass@127.0.0.1:1/portal")
    for path in ("/healthz", "/healthz?deep=1"):
        response = client.get(path)
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "database unreachable"
        assert "db-pass" not in json.dumps(body) and "127.0.0.1" not in json.dumps(body)
    assert client.get("/healthz?deep=1").json()["database"] == "unreachable"
