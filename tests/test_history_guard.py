"""History is append-only in the database itself: no DELETE, no TRUNCATE, no back-dated INSERT.

The only way rows leave is the retention purge of one case, which records itself. Every test runs
on SQLite and (with PORTAL_DATABASE_URL) on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from portal.accounts.models import Role
from portal.cli import app as cli
from portal.config import get_settings
from portal.history import (
    BACKDATE_TOLERANCE,
    PURGED_TAG,
    Actor,
    HistoryEvent,
    history_import_permitted,
    history_of,
    history_purge_permitted,
    purge_case_history,
    record_event,
)
from portal.migrations import alembic_config
from tests.databases import migrated_database
from tests.factories import make_case, make_cast, make_user


def _event(session, subject_id: object = 1, tag: str = "complaint:note", **kwargs) -> None:
    record_event(
        session,
        subject_type="complaint",
        subject_id=subject_id,
        tag=tag,
        actor=Actor.system(),
        **kwargs,
    )
    session.commit()


def _count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(HistoryEvent)) or 0


def _is_postgresql(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM history_event",
        "DELETE FROM history_event WHERE subject_id = '1'",
        "DELETE FROM history_event WHERE tag = 'complaint:note'",
    ],
)
def test_deleting_history_is_refused(db_session, statement):
    _event(db_session)
    _event(db_session, subject_id=2)
    with pytest.raises(DBAPIError, match="append-only"):
        db_session.execute(text(statement))
        db_session.commit()
    assert _count(db_session) == 2


def test_truncating_history_is_refused_on_postgresql(db_session):
    if not _is_postgresql(db_session):
        pytest.skip("SQLite has no TRUNCATE; its DELETE without WHERE is refused above")
    _event(db_session)
    for statement in ("TRUNCATE history_event", "TRUNCATE staff_user CASCADE"):
        with pytest.raises(DBAPIError, match="append-only"):
            db_session.execute(text(statement))
            db_session.commit()
        assert _count(db_session) == 1


def test_even_the_purge_permit_does_not_allow_truncate(db_session):
    if not _is_postgresql(db_session):
        pytest.skip("SQLite has no TRUNCATE")
    _event(db_session)
    with pytest.raises(DBAPIError, match="append-only"):
        with history_purge_permitted(db_session):
            db_session.execute(text("TRUNCATE history_event"))
        db_session.commit()
    assert _count(db_session) == 1


def test_an_event_dated_before_the_newest_is_refused(db_session, clock):
    _event(db_session, tag="complaint:receive")
    clock.advance(timedelta(hours=-1))
    with pytest.raises(DBAPIError, match="append-only"):
        _event(db_session, tag="complaint:forged")
    db_session.rollback()
    assert [e.tag for e in history_of(db_session, "complaint", 1)] == ["complaint:receive"]


def test_a_back_dated_insert_in_plain_sql_is_refused(db_session, clock):
    _event(db_session)
    earlier = clock.now() - timedelta(days=30)
    with pytest.raises(DBAPIError, match="append-only"):
        db_session.execute(
            text(
                "INSERT INTO history_event (subject_type, subject_id, tag, actor_type, "
                "actor_label, occurred_at) VALUES ('complaint', '1', 'complaint:forged', "
                "'system', 'The portal', :at)"
            ),
            {"at": earlier},
        )
        db_session.commit()
    assert _count(db_session) == 1


def test_events_a_little_out_of_order_are_accepted(db_session, clock):
    """Two requests stamped a moment apart may commit in either order: 5 minutes' tolerance."""
    _event(db_session, tag="first")
    clock.advance(timedelta(minutes=-4, seconds=-59))
    _event(db_session, tag="second")
    clock.advance(timedelta(minutes=5, seconds=59))
    _event(db_session, tag="third")
    assert [e.tag for e in history_of(db_session, "complaint", 1)] == ["first", "second", "third"]


def test_the_import_permit_allows_past_dates_for_made_up_records(db_session, clock):
    _event(db_session)
    with history_import_permitted(db_session):
        db_session.add(
            HistoryEvent(
                subject_type="complaint",
                subject_id="7",
                tag="complaint:receive",
                actor_type="system",
                actor_label="The portal",
                occurred_at=clock.now() - timedelta(days=400),
            )
        )
        db_session.flush()
    db_session.commit()
    assert _count(db_session) == 2
    clock.advance(timedelta(days=-1))
    with pytest.raises(DBAPIError, match="append-only"):
        _event(db_session, tag="after the permit ended")


def test_a_permit_ends_with_its_block_inside_the_same_transaction(db_session):
    _event(db_session)
    _event(db_session, subject_id=2)
    with history_purge_permitted(db_session):
        db_session.execute(text("DELETE FROM history_event WHERE subject_id = '1'"))
    with pytest.raises(DBAPIError, match="append-only"):
        db_session.execute(text("DELETE FROM history_event"))
    db_session.rollback()
    assert _count(db_session) == 2  # the rollback undid the permitted delete too
    if not _is_postgresql(db_session):
        assert db_session.scalar(text("SELECT count(*) FROM history_permit")) == 0


def test_purge_removes_one_cases_history_and_records_who_why_and_how_much(db_session, clock):
    admin = make_user(db_session, Role.admin, name="Priya Shah")
    _event(db_session, subject_id=1, tag="complaint:receive")
    clock.advance(timedelta(days=3))
    _event(db_session, subject_id=1, tag="complaint:triage")
    _event(db_session, subject_id=2, tag="complaint:receive")
    clock.advance(timedelta(days=2000))

    removed = purge_case_history(
        db_session, 1, Actor.staff(admin), "  Retention period (6 years) ended.  "
    )
    db_session.commit()

    assert removed == 2
    [purge] = history_of(db_session, "complaint", 1)
    assert purge.tag == PURGED_TAG
    assert (purge.actor_user_id, purge.actor_label) == (admin.id, "Priya Shah")
    assert purge.occurred_at == clock.now()
    details = json.loads(purge.detail)
    assert details["rows"] == 2
    assert details["reason"] == "Retention period (6 years) ended."
    assert details["oldest"].startswith("2026-11-25")
    assert details["newest"].startswith("2026-11-28")
    assert [e.tag for e in history_of(db_session, "complaint", 2)] == ["complaint:receive"]
    # The permit went with the purge: nothing else can be deleted now.
    with pytest.raises(DBAPIError, match="append-only"):
        db_session.execute(text("DELETE FROM history_event"))
    db_session.rollback()


def test_a_second_purge_keeps_the_record_of_the_first(db_session):
    _event(db_session, subject_id=5)
    assert purge_case_history(db_session, 5, Actor.system(), "Retention ended") == 1
    db_session.commit()
    _event(db_session, subject_id=5, tag="complaint:view")
    assert purge_case_history(db_session, 5, Actor.system(), "Again") == 1
    db_session.commit()
    assert [e.tag for e in history_of(db_session, "complaint", 5)] == [PURGED_TAG, PURGED_TAG]


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_purge_needs_a_reason(db_session, reason):
    _event(db_session)
    with pytest.raises(ValueError):
        purge_case_history(db_session, 1, Actor.system(), reason)
    db_session.rollback()
    assert _count(db_session) == 1


# ---------------------------------------------------------------- the `portal purge` command


@pytest.fixture
def cli_env(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("PORTAL_DATABASE_URL", database_url)
    monkeypatch.setenv("PORTAL_ATTACHMENTS_DIR", str(tmp_path))
    monkeypatch.setenv("PORTAL_SECRET_KEY", "cli-test-secret-" + "y" * 40)
    monkeypatch.setenv("PORTAL_SMTP_HOST", "")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _purge(reference: str, by: str, *extra: str):
    return CliRunner().invoke(
        cli,
        ["purge", "--case", reference, "--reason", "Retention period ended", "--by", by, *extra],
    )


@pytest.mark.committed
def test_portal_purge_deletes_a_closed_cases_history_and_records_it(
    cli_env, app, db_session, settings
):
    cast = make_cast(db_session)
    admin = make_user(db_session, Role.admin, name="Priya Shah")
    case = make_case(db_session, settings, cast, "closed")
    other = make_case(db_session, settings, cast, "closed")
    before = len(history_of(db_session, "complaint", case.id))
    assert before > 3

    result = _purge(case.reference, admin.email, "--yes")

    assert result.exit_code == 0, result.output
    assert f"Purged {before} history events of {case.reference}" in result.output
    db_session.expire_all()
    [purge] = history_of(db_session, "complaint", case.id)
    assert purge.tag == PURGED_TAG
    assert purge.actor_label == "Priya Shah"
    assert json.loads(purge.detail)["reason"] == "Retention period ended"
    assert len(history_of(db_session, "complaint", other.id)) == before


@pytest.mark.committed
def test_portal_purge_asks_first_and_refuses_open_cases_and_non_admins(
    cli_env, app, db_session, settings
):
    cast = make_cast(db_session)
    admin = make_user(db_session, Role.admin)
    open_case = make_case(db_session, settings, cast, "open")
    closed = make_case(db_session, settings, cast, "closed")
    count = len(history_of(db_session, "complaint", closed.id))

    refused_open = _purge(open_case.reference, admin.email, "--yes")
    refused_office = _purge(closed.reference, cast.office.email, "--yes")
    unknown = _purge("C-AAAA-AAA", admin.email, "--yes")
    declined = CliRunner().invoke(
        cli,
        ["purge", "--case", closed.reference, "--reason", "r", "--by", admin.email],
        input="n\n",
    )

    assert refused_open.exit_code == 1 and "still open" in refused_open.output
    assert refused_office.exit_code == 1 and "not an active admin" in refused_office.output
    assert unknown.exit_code == 1 and "No case has the reference" in unknown.output
    assert declined.exit_code == 1
    db_session.expire_all()
    assert len(history_of(db_session, "complaint", closed.id)) == count
    assert PURGED_TAG not in {e.tag for e in history_of(db_session, "complaint", open_case.id)}


# ---------------------------------------------------------------- the migration


def test_migration_0004h_downgrades_and_upgrades_again(tmp_path):
    from sqlalchemy import create_engine

    from alembic import command

    with migrated_database("portal_guard_migration", tmp_path) as url:
        config = alembic_config(url)
        command.downgrade(config, "0004c")
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                assert "complaint_id" not in {
                    c["name"] for c in inspect(connection).get_columns("outbox_message")
                }
                connection.execute(
                    text(
                        "INSERT INTO outbox_message (to_address, subject, body_text, created_at, "
                        "status, attempts, next_attempt_at, related_type, related_id) VALUES "
                        "('a@example.com', 's', 'b', :at, 'sent', 1, :at, 'complaint', :id)"
                    ),
                    [
                        {"at": "2026-11-25 10:00:00", "id": "42"},
                        {"at": "2026-11-25 10:00:00", "id": "not-a-number"},
                    ],
                )
                _insert_event(connection, "2026-11-25 10:00:00")
                _insert_event(connection, "2025-01-01 10:00:00")  # no guard at 0003
                connection.execute(
                    text("DELETE FROM history_event WHERE occurred_at < '2026-01-01'")
                )

            command.upgrade(config, "head")

            with engine.begin() as connection:
                filled = connection.execute(
                    text("SELECT related_id, complaint_id FROM outbox_message ORDER BY id")
                ).all()
                assert [tuple(row) for row in filled] == [("42", 42), ("not-a-number", None)]
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                connection.execute(text("DELETE FROM history_event"))
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                _insert_event(connection, "2025-01-01 10:00:00")
            with engine.begin() as connection, history_purge_permitted(connection):
                connection.execute(text("DELETE FROM history_event"))
        finally:
            engine.dispose()


def test_the_migration_and_the_code_agree_on_the_tolerance():
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "alembic/versions/0005_history_guard.py"
    spec = importlib.util.spec_from_file_location("migration_0004h", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert timedelta(minutes=migration.TOLERANCE_MINUTES) == BACKDATE_TOLERANCE


def _insert_event(connection, at: str) -> None:
    connection.execute(
        text(
            "INSERT INTO history_event (subject_type, subject_id, tag, actor_type, actor_label, "
            "occurred_at) VALUES ('complaint', '1', 'complaint:note', 'system', 'The portal', :at)"
        ),
        {"at": at},
    )
