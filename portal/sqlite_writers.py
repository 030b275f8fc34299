"""SQLite's writers wait their turn in a queue instead of polling for the lock.

SQLite lets one connection write at a time. A second writer gets SQLITE_BUSY, and its busy
handler sleeps and tries again: 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms, then 100 ms a
time until the timeout. When the lock is freed, nobody notices until their sleep ends: the
database sits idle while requests sleep, and an unlucky writer that keeps missing it waits a
second or more. That is what a rush of parents on the embedded database looked like (a p99 of
1.5 s against PostgreSQL's 0.5 s at the same throughput).

Here a connection that is about to write first takes its turn:
- inside its process, a lock that hands over at once and gives up after `timeout` seconds with
  SQLite's own "database is locked" error (a code path holding one write and starting another on
  a second connection fails as it did before, rather than waiting for ever);
- between processes (the server's workers, the mail sender, the command line), an exclusive
  `flock` on a file beside the database, `<database>-writers`: the kernel wakes the next waiter
  the moment the holder lets go, and frees it if the holder dies.
The turn ends with the transaction (commit, rollback or close), or with the statement when it
ran outside one. Readers never wait: WAL lets them read while someone writes. SQLite's own
busy timeout stays, for any writer that does not use this queue.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from typing import Any

# Statements that never queue: reads and transaction control. Every other statement writes
# (pysqlite opens a transaction before INSERT, UPDATE, DELETE and REPLACE; DDL writes in its own).
NEVER_QUEUE = frozenset(
    {"SELECT", "PRAGMA", "EXPLAIN", "BEGIN", "COMMIT", "END", "ROLLBACK", "RELEASE", "SAVEPOINT"}
)

_process_turns: dict[str, threading.Lock] = {}
_process_turns_guard = threading.Lock()


def _process_turn(path: str) -> threading.Lock:
    with _process_turns_guard:
        return _process_turns.setdefault(path, threading.Lock())


def _writes(sql: str) -> bool:
    first = sql.lstrip()[:10].split(None, 1)
    return bool(first) and first[0].upper() not in NEVER_QUEUE


class QueuedWriters(sqlite3.Connection):
    """A pysqlite connection whose writes take their turn first (see the module's note).

    Made by `connect_args={"factory": QueuedWriters, ...}`; the database file's path is read
    from the connection itself, so every connection to one file shares one queue."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn_timeout = float(kwargs.get("timeout", 5.0))
        self._turn: threading.Lock | None = None
        self._lock_file: int | None = None
        self._holding = False
        path = _main_file(self)
        if path:
            self._turn = _process_turn(path)
        self._lock_path = f"{path}-writers"

    # ------------------------------------------------------------ the turn

    def take_turn(self) -> None:
        if self._holding or self._turn is None:
            return
        if not self._turn.acquire(timeout=self._turn_timeout):
            raise sqlite3.OperationalError("database is locked")
        try:
            if self._lock_file is None:
                self._lock_file = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        except BaseException:
            self._turn.release()
            raise
        self._holding = True

    def end_turn(self) -> None:
        if not self._holding:
            return
        self._holding = False
        try:
            if self._lock_file is not None:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        finally:
            assert self._turn is not None
            self._turn.release()

    def end_turn_unless_writing(self) -> None:
        if self._holding and not self.in_transaction:
            self.end_turn()

    # ------------------------------------------------------------ pysqlite's surface

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:
        return super().cursor(factory or QueuedCursor)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        return self.cursor().executemany(sql, parameters)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.end_turn_unless_writing()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_turn_unless_writing()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_turn()
            if self._lock_file is not None:
                os.close(self._lock_file)
                self._lock_file = None


class QueuedCursor(sqlite3.Cursor):
    """Takes the connection's turn before a write that is not already inside its transaction."""

    def execute(self, sql: str, parameters: Any = (), /) -> QueuedCursor:
        self._in_turn(super().execute, sql, parameters)
        return self

    def executemany(self, sql: str, parameters: Any, /) -> QueuedCursor:
        self._in_turn(super().executemany, sql, parameters)
        return self

    def _in_turn(self, run: Any, sql: str, parameters: Any) -> None:
        connection: QueuedWriters = self.connection  # type: ignore[assignment]
        if not connection.in_transaction and _writes(sql):
            connection.take_turn()
        try:
            run(sql, parameters)
        finally:
            connection.end_turn_unless_writing()


def _main_file(connection: sqlite3.Connection) -> str:
    """The path of the connection's main database file, or "" when it has none (in memory)."""
    for _seq, name, path in connection.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return os.path.realpath(path) if path else ""
    return ""
