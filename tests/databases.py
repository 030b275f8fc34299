"""A freshly migrated database for a test run: a SQLite file, or a PostgreSQL schema of its own
when PORTAL_DATABASE_URL points at PostgreSQL (created here, dropped at the end)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

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
