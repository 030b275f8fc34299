"""Alembic, driven from Python: the only way the schema changes, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import dataclass

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from alembic import command
from portal.config import PROJECT_ROOT


@dataclass(frozen=True)
class AppliedRevision:
    """One migration `upgrade` ran: its id and the first line of its description."""

    revision: str
    description: str


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def current_revisions(database_url: str) -> tuple[str, ...]:
    """The revisions the database is at (empty for a database never migrated)."""
    engine = create_engine(database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return tuple(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def upgrade(database_url: str, revision: str = "head") -> list[AppliedRevision]:
    """Bring the schema to `revision`; returns the migrations that ran, oldest first, so the
    operator is told what changed (an upgrade from the previous release names each step)."""
    config = alembic_config(database_url)
    before = current_revisions(database_url)
    command.upgrade(config, revision)
    after = current_revisions(database_url)
    return applied_between(config, before, after)


def applied_between(
    config: Config, before: tuple[str, ...], after: tuple[str, ...]
) -> list[AppliedRevision]:
    script = ScriptDirectory.from_config(config)
    applied: list[AppliedRevision] = []
    for head in after:
        for step in script.iterate_revisions(head, before or "base"):
            if step.revision in before:
                continue
            first_line = (step.doc or "").strip().splitlines()
            applied.append(AppliedRevision(step.revision, first_line[0] if first_line else ""))
    applied.reverse()
    return applied
