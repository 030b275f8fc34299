"""A fresh, migrated database per benchmark run: a SQLite file or a PostgreSQL schema."""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import create_engine, text

from portal.config import PROJECT_ROOT
from portal.migrations import upgrade

BENCH_DIR = PROJECT_ROOT / "var" / "bench"
POSTGRES_URL = os.environ.get(
    "PORTAL_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass(frozen=True)
class BenchDatabase:
    kind: str
    label: str
    url: str
    version: str


@contextmanager
def fresh_database(kind: str) -> Iterator[BenchDatabase]:
    """Create, migrate, hand over, and always remove the database afterwards."""
    if kind == "sqlite":
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        path = BENCH_DIR / f"bench-{secrets.token_hex(4)}.db"
        url = f"sqlite:///{path}"
        try:
            upgrade(url)
            yield BenchDatabase(kind, "SQLite", url, f"SQLite {sqlite3.sqlite_version}")
        finally:
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
        return
    schema = f"portal_bench_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        version = connection.execute(text("SHOW server_version")).scalar_one()
    joiner = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{joiner}options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        yield BenchDatabase(kind, "PostgreSQL", url, f"PostgreSQL {version.split()[0]}")
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
