"""A freshly migrated database for a test run: a SQLite file, or a PostgreSQL schema of its own
when PORTAL_DATABASE_URL points at PostgreSQL (created here, dropped at the end)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from portal.migrations import upgrade


@contextmanager
def migrated_database(prefix: str, folder: Path) -> Iterator[str]:
    base = os.environ.get("PORTAL_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        url = f"sqlite:///{folder / f'{prefix}.db'}"
        upgrade(url)
        yield url
        return
    schema = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def statements_sent(engine: Engine, run: Callable[[], object]) -> list[str]:
    """Run `run` once; each statement it sent to the database, on one line, in order."""
    sent: list[str] = []

    def note(_conn, _cursor, statement, _parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        sent.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return sent
