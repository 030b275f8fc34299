"""PostgreSQL: the portal runs as a least-privilege role that cannot erase or forge history.

The role is made by the very SQL that docs/operations.md tells operators to run, read from that
file, so the documentation cannot drift from what is tested. Skipped on SQLite (it has no roles).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.app import create_app
from portal.complaints import services
from portal.complaints.models import Complaint
from portal.db import make_engine
from portal.demo import DEMO_PASSWORD, DEMO_STAFF, load_demo
from portal.history import (
    Actor,
    HistoryEvent,
    history_import_permitted,
    history_purge_permitted,
    purge_case_history,
    record_event,
)
from portal.mail import OutboxMessage, queue_mail
from tests.conftest import csrf_of

OPERATIONS = Path(__file__).resolve().parent.parent / "docs" / "operations.md"

# Roles, grants and a second connection as another user: real commits.
pytestmark = pytest.mark.committed


def documented_role_sql() -> str:
    """The ```sql block between the app-role-sql markers in docs/operations.md."""
    block = re.search(
        r"<!-- app-role-sql:start -->\s*```sql\n(.*?)```\s*<!-- app-role-sql:end -->",
        OPERATIONS.read_text(),
        re.S,
    )
    assert block, "docs/operations.md has lost its app-role SQL block"
    return block.group(1)


def statements_for(sql: str, *, role: str, database: str, schema: str) -> list[str]:
    """The documented statements, with this run's role, database and schema put in."""
    sql = re.sub(r"\bportal_app\b", role, sql)
    sql = re.sub(r"\bDATABASE portal\b", f'DATABASE "{database}"', sql)
    sql = re.sub(r"\bpublic\b", f'"{schema}"', sql)  # the schema; PUBLIC (everyone) is upper case
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


@pytest.fixture
def app_role(app, database_url) -> Iterator[tuple[str, Engine]]:
    """A role made by the documented SQL, and an engine connecting as it to this run's schema."""
    owner: Engine = app.state.engine
    if owner.dialect.name != "postgresql":
        pytest.skip("roles and privileges are PostgreSQL's")
    role = f"portal_app_{secrets.token_hex(4)}"
    with owner.connect() as connection:
        schema = connection.scalar(text("SELECT current_schema()"))
        database = connection.scalar(text("SELECT current_database()"))
    statements = statements_for(documented_role_sql(), role=role, database=database, schema=schema)
    assert any(s.startswith("CREATE ROLE") for s in statements)
    with owner.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    url = make_url(database_url).set(username=role, password=None)
    engine = create_engine(url)
    try:
        yield role, engine
    finally:
        engine.dispose()
        with owner.begin() as connection:
            connection.execute(text(f'DROP OWNED BY "{role}"'))
            connection.execute(text(f'DROP ROLE "{role}"'))


def _refused(engine: Engine, statement: str, **params: object) -> str:
    with pytest.raises(DBAPIError) as refusal, engine.begin() as connection:
        connection.execute(text(statement), params)
    return str(refusal.value.orig)


def _sign_in(client: TestClient, email: str) -> None:
    login = client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={"email": email, "password": DEMO_PASSWORD, "csrf_token": csrf_of(login)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_the_app_role_cannot_delete_truncate_change_or_forge_history(app, app_role, db_session):
    _role, engine = app_role
    record_event(
        db_session,
        subject_type="complaint",
        subject_id=1,
        tag="complaint:receive",
        actor=Actor.system(),
    )
    db_session.commit()

    for statement in (
        "DELETE FROM history_event",
        "TRUNCATE history_event",
        "TRUNCATE staff_user CASCADE",
        "UPDATE history_event SET tag = 'forged'",
        "DROP TABLE history_event",
        "ALTER TABLE history_event DISABLE TRIGGER ALL",
        "CREATE TABLE scratch (id integer)",
    ):
        message = _refused(engine, statement)
        assert "permission denied" in message or "must be owner" in message, (statement, message)

    # Taking a permit does not help: DELETE is not granted, and the triggers honour permits only
    # for the tables' owner.
    with (
        pytest.raises(DBAPIError, match="permission denied"),
        engine.begin() as connection,
        history_purge_permitted(connection),
    ):
        connection.execute(text("DELETE FROM history_event"))
    with (
        pytest.raises(DBAPIError, match="append-only"),
        engine.begin() as connection,
        history_import_permitted(connection),
    ):
        connection.execute(
            text(
                "INSERT INTO history_event (subject_type, subject_id, tag, actor_type, "
                "actor_label, occurred_at) VALUES ('complaint', '1', 'complaint:forged', "
                "'system', 'The portal', now() - interval '11 years')"
            )
        )
    with (
        pytest.raises(DBAPIError, match="permission denied"),
        Session(
            make_engine(str(engine.url.render_as_string(hide_password=False)), app.state.clock)
        ) as session,
    ):
        purge_case_history(session, 1, Actor.system(), "not the app's to do")

    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(HistoryEvent)) == 1


def test_the_app_role_does_the_portals_normal_work(app, app_role, settings, clock):
    """Demo school, staff sign-in, queue, case page, outbox, reminders: all as the app's role."""
    role, engine = app_role
    role_settings = settings.model_copy(
        update={"database_url": engine.url.render_as_string(hide_password=False)}
    )
    role_app = create_app(role_settings, clock)
    try:
        with Session(role_app.state.engine, expire_on_commit=False) as session:
            assert session.scalar(text("SELECT current_user")) == role
            assert load_demo(session, role_settings)
            case = session.scalars(select(Complaint).order_by(Complaint.id)).first()
            assert case is not None
            queue_mail(
                session,
                to="alex.parent@example.com",
                subject="About your complaint",
                body_text="We have it.",
                complaint_id=case.id,
            )
            session.commit()
            clock.advance(timedelta(days=1))
            services.remind(session, role_settings)
            session.commit()

        with TestClient(role_app, base_url="http://testserver") as client:
            _sign_in(client, DEMO_STAFF[0][1])  # the admin
            assert client.get("/staff/outbox").status_code == 200
            with Session(role_app.state.engine) as session:
                message_id = session.scalar(
                    select(OutboxMessage.id).where(OutboxMessage.complaint_id == case.id)
                )
            assert client.get(f"/staff/outbox/{message_id}").status_code == 200
        with TestClient(role_app, base_url="http://testserver") as client:
            head_email = DEMO_STAFF[2][1]
            _sign_in(client, head_email)
            assert client.get("/staff/complaints").status_code == 200
            with Session(role_app.state.engine) as session:
                head_case = session.scalars(
                    select(Complaint)
                    .join(StaffUser, StaffUser.id == Complaint.handler_user_id)
                    .where(StaffUser.email == head_email)
                ).first()
            assert head_case is not None
            assert client.get(f"/staff/complaints/{head_case.reference}").status_code == 200

        with Session(role_app.state.engine) as session:
            tags = set(
                session.scalars(
                    select(HistoryEvent.tag).where(HistoryEvent.subject_id == str(case.id))
                )
            )
            assert {"complaint:receive", "complaint:view:outbox"} <= tags
            assert session.scalar(
                select(func.count())
                .select_from(HistoryEvent)
                .where(
                    HistoryEvent.subject_id == str(head_case.id),
                    HistoryEvent.tag == "complaint:view",
                )
            )
            assert session.scalar(select(func.count()).select_from(Complaint)) >= 5
    finally:
        role_app.state.engine.dispose()
