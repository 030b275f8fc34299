"""Migration 0029 (the flags' queued_at and the rule queue's index) is the one head, fills
queued_at for comments waiting when it runs, and goes down and up again, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from alembic import command
from portal.migrations import alembic_config
from tests.databases import migrated_database

WHEN = "2026-11-25 10:00:00"


def test_0029_is_the_head_fills_queued_at_and_goes_down_and_up(tmp_path):
    with migrated_database("portal_flag_queue_migration", tmp_path) as url:
        config = alembic_config(url)
        assert ScriptDirectory.from_config(config).get_heads() == ["0029"]
        command.downgrade(config, "0027")
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                assert "queued_at" not in {
                    c["name"] for c in inspect(connection).get_columns("comment_flag")
                }
                connection.execute(
                    text(
                        "INSERT INTO staff_user (email, name, password_hash, role_names, "
                        "is_active, created_at) VALUES ('a@example.com', 'A', 'x', 'head', "
                        ":yes, :when)"
                    ),
                    {"yes": True, "when": WHEN},
                )
                connection.execute(
                    text(
                        "INSERT INTO news_post (slug, title, summary, body_markdown, status, "
                        "author_id, created_at, updated_at, consent_flag_detail, revision, "
                        "pupils_answered) SELECT 'a-post', 'A post', '', 'Words', 'approved', "
                        "id, :when, :when, '', 1, :no FROM staff_user"
                    ),
                    {"when": WHEN, "no": False},
                )
                connection.execute(
                    text(
                        "INSERT INTO commenter (display_name, created_at, blocked, "
                        "blocked_reason) VALUES ('Sam', :when, :no, '')"
                    ),
                    {"when": WHEN, "no": False},
                )
                for body, queued in (("Waiting", True), ("Decided", False)):
                    connection.execute(
                        text(
                            "INSERT INTO comment (post_id, commenter_id, display_name, body, "
                            "status, queued, queued_at, on_register, posted_anyway, "
                            "created_at, decision_reason, report_count) SELECT news_post.id, "
                            "commenter.id, 'Sam', :body, 'pending', :queued, :when, :no, :no, "
                            ":when, '', 0 FROM news_post, commenter"
                        ),
                        {"body": body, "queued": queued, "when": WHEN, "no": False},
                    )
                connection.execute(
                    text(
                        'INSERT INTO comment_flag (comment_id, rule, severity, start, "end", '
                        "matched, context, explanation) SELECT id, 'pupil_name', 'hold', 0, 1, "
                        "'x', 'x', 'x' FROM comment"
                    )
                )
            command.upgrade(config, "head")
            with engine.begin() as connection:
                rows = connection.execute(
                    text(
                        "SELECT comment.body, comment_flag.queued_at FROM comment_flag "
                        "JOIN comment ON comment.id = comment_flag.comment_id ORDER BY comment.body"
                    )
                ).all()
                assert [(body, at is not None) for body, at in rows] == [
                    ("Decided", False),
                    ("Waiting", True),
                ]
                indexes = {i["name"] for i in inspect(connection).get_indexes("comment_flag")}
                assert "ix_comment_flag_queue" in indexes
            command.downgrade(config, "0027")
            command.upgrade(config, "head")
        finally:
            engine.dispose()
