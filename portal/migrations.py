"""Alembic, driven from Python: the only way the schema changes, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic.config import Config

from alembic import command
from portal.config import PROJECT_ROOT


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Upgrade to every head: branches built side by side each start from the same revision
    until they are chained at merge, and "heads" applies them all (one head is the usual case)."""
    command.upgrade(alembic_config(database_url), revision)
