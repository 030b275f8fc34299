"""Migration 0027 (whether a post's author said who is in its pictures, after 0028 so there is
one head) goes down and up again, keeping the posts, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from alembic import command
from portal.migrations import alembic_config
from tests.databases import migrated_database


def test_one_head_and_0027_goes_down_and_up(tmp_path):
    with migrated_database("portal_news_migration", tmp_path) as url:
        config = alembic_config(url)
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1
        command.downgrade(config, "0028")
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                columns = {c["name"] for c in inspect(connection).get_columns("news_post")}
                assert "pupils_answered" not in columns
                connection.execute(
                    text(
                        "INSERT INTO staff_user (email, name, password_hash, role_names, "
                        "is_active, created_at) VALUES ('a@example.com', 'A', 'x', 'office', "
                        ":yes, '2026-11-25 10:00:00')"
                    ),
                    {"yes": True},
                )
                connection.execute(
                    text(
                        "INSERT INTO news_post (slug, title, summary, body_markdown, status, "
                        "author_id, created_at, updated_at, consent_flag_detail, revision) "
                        "SELECT 'a-post', 'A post', '', 'Words', 'draft', id, "
                        "'2026-11-25 10:00:00', '2026-11-25 10:00:00', '', 1 FROM staff_user"
                    )
                )
            command.upgrade(config, "head")
            with engine.begin() as connection:
                rows = connection.execute(text("SELECT slug, pupils_answered FROM news_post")).all()
                assert [(slug, bool(answered)) for slug, answered in rows] == [("a-post", False)]
        finally:
            engine.dispose()
