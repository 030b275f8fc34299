"""SQLite's writers take turns in a queue (portal/sqlite_writers.py) instead of polling."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from portal.db import make_engine
from portal.sqlite_writers import QueuedWriters, _process_turn, _writes

# These tests wait with timeouts that must run out (a writer still waiting after 0.3 s; a lock
# given up after 0.2 s). Under libfaketime (CI's fake-date pass) such timed waits never return;
# nothing here depends on the date.
timed_waits = pytest.mark.skipif(
    "faketime" in os.environ.get("LD_PRELOAD", ""),
    reason="timed waits never run out under libfaketime",
)


def _connect(path: Path, timeout: float = 30) -> QueuedWriters:
    connection = sqlite3.connect(
        path, timeout=timeout, check_same_thread=False, factory=QueuedWriters
    )
    assert isinstance(connection, QueuedWriters)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "portal.db"
    with _connect(path) as connection:
        connection.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, words TEXT)")
    return path


def _words(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT words FROM note ORDER BY id")]


@timed_waits
def test_a_writer_waits_for_the_open_write_and_goes_as_soon_as_it_is_committed(database):
    first = _connect(database)
    second = _connect(database)
    first.execute("INSERT INTO note (words) VALUES ('first')")
    assert first.in_transaction
    started, finished = threading.Event(), threading.Event()

    def write_second() -> None:
        started.set()
        second.execute("INSERT INTO note (words) VALUES ('second')")
        second.commit()
        finished.set()

    waiting = threading.Thread(target=write_second)
    waiting.start()
    started.wait(5)
    assert not finished.wait(0.3), "the second writer waits for its turn"
    # A reader never waits: it sees what was committed before the open write.
    assert _words(database) == []
    first.commit()
    waiting.join(10)
    assert finished.is_set()
    assert _words(database) == ["first", "second"]
    assert not _process_turn(str(database.resolve())).locked(), "the turn was handed back"


def test_a_rolled_back_or_failed_write_hands_the_turn_on(database):
    writer = _connect(database)
    writer.execute("INSERT INTO note (words) VALUES ('changed my mind')")
    writer.rollback()
    with pytest.raises(sqlite3.OperationalError):
        writer.execute("INSERT INTO missing_table (words) VALUES ('x')")
    writer.rollback()
    other = _connect(database)
    other.execute("INSERT INTO note (words) VALUES ('kept')")
    other.commit()
    assert _words(database) == ["kept"]
    writer.close()
    other.close()


def test_many_rows_in_one_statement_take_one_turn(database):
    writer = _connect(database)
    writer.executemany("INSERT INTO note (words) VALUES (?)", [("one",), ("two",)])
    assert writer.in_transaction
    assert _process_turn(str(database.resolve())).locked(), "held until the commit"
    writer.commit()
    assert not _process_turn(str(database.resolve())).locked()
    assert _words(database) == ["one", "two"]
    writer.close()


def test_statements_outside_a_transaction_take_and_return_the_turn(database):
    writer = _connect(database)
    writer.execute("CREATE TABLE other (id INTEGER PRIMARY KEY)")  # DDL: its own transaction
    assert not writer.in_transaction
    assert not _process_turn(str(database.resolve())).locked()
    writer.close()


@timed_waits
def test_a_second_write_on_another_connection_of_the_same_thread_fails_as_sqlite_would(database):
    """A code path holding one write while it starts another cannot wait for itself for ever:
    it gets SQLite's own error after the connection's timeout, as without the queue."""
    holding = _connect(database, timeout=0.2)
    holding.execute("INSERT INTO note (words) VALUES ('held')")
    second = _connect(database, timeout=0.2)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        second.execute("INSERT INTO note (words) VALUES ('stuck')")
    holding.commit()
    second.execute("INSERT INTO note (words) VALUES ('now')")
    second.commit()
    assert _words(database) == ["held", "now"]


def _hold_the_turn(path: str, holding, release) -> None:  # type: ignore[no-untyped-def]
    connection = _connect(Path(path))
    connection.execute("INSERT INTO note (words) VALUES ('other process')")
    holding.set()
    release.wait(10)
    connection.commit()
    connection.close()


@timed_waits
def test_writers_in_two_processes_take_turns(database):
    context = multiprocessing.get_context("spawn")
    holding, release = context.Event(), context.Event()
    other = context.Process(target=_hold_the_turn, args=(str(database), holding, release))
    other.start()
    try:
        assert holding.wait(30)
        finished = threading.Event()

        def write_here() -> None:
            connection = _connect(database)
            connection.execute("INSERT INTO note (words) VALUES ('this process')")
            connection.commit()
            connection.close()
            finished.set()

        here = threading.Thread(target=write_here)
        here.start()
        assert not finished.wait(0.3), "this process waits for the other's turn to end"
        release.set()
        here.join(10)
        assert finished.is_set()
    finally:
        release.set()
        other.join(10)
    assert _words(database) == ["other process", "this process"]


def test_many_writers_at_once_all_land(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'portal.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, words TEXT)"))

    def write(number: int) -> None:
        for turn in range(25):
            with engine.begin() as connection:
                connection.execute(text("SELECT count(*) FROM note")).scalar()
                connection.execute(
                    text("INSERT INTO note (words) VALUES (:words)"), {"words": f"{number}.{turn}"}
                )

    writers = [threading.Thread(target=write, args=(number,)) for number in range(12)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM note")).scalar() == 300
    engine.dispose()


def test_an_in_memory_database_has_no_queue():
    connection = sqlite3.connect(":memory:", factory=QueuedWriters)
    connection.execute("CREATE TABLE note (words TEXT)")
    connection.execute("INSERT INTO note VALUES ('x')")
    connection.commit()
    assert connection.execute("SELECT count(*) FROM note").fetchone() == (1,)


@pytest.mark.parametrize(
    ("sql", "writes"),
    [
        ("SELECT 1", False),
        ("  select * from note", False),
        ("PRAGMA journal_mode=WAL", False),
        ("BEGIN", False),
        ("SAVEPOINT sa_1", False),
        ("INSERT INTO note VALUES (1)", True),
        ("\n update note set words = 'x'", True),
        ("DELETE FROM note", True),
        ("CREATE TABLE x (y INT)", True),
        ("WITH t AS (SELECT 1) INSERT INTO note SELECT * FROM t", True),
        ("", False),
    ],
)
def test_which_statements_write(sql: str, writes: bool):
    assert _writes(sql) is writes
