"""comments on the news, their screening flags, reports, word lists and moderation settings

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-07 08:00:00

- commenter: who comments (a register contact, or a confirmed address), and whether blocked.
- commenter_link: a one-time link for a commenter not on the register, then their session.
- comment: a comment on a news post (pending, approved, rejected, referred, hidden), queued for
  moderators; the original words kept when a moderator redacted them.
- comment_flag: what screening found in a comment (or an external one), as it was then.
- comment_report: a parent's report of a published comment.
- moderation_word: the school's banned and suspect words, seeded with the defaults.
- moderation_settings: who may comment and how many reports hide a comment (one row).
- external_comment: comments seen on the school's social media, and what was done there.
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The lists as screening first shipped them (portal.moderation.screening), copied so this
# revision stays the same whatever later versions of the code hold.
BANNED = ("kill you",)
SUSPECT = ("sue", "solicitor", "ofsted", "police", "social services", "facebook", "disgrace")
SEEDED_AT = datetime(2026, 12, 7, 8, 0)


def upgrade() -> None:
    op.create_table(
        "commenter",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("contact_id", sa.Integer, sa.ForeignKey("pupil_contact_person.id"), unique=True),
        sa.Column("email", sa.String(320), unique=True),
        sa.Column("display_name", sa.String(60), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("confirmed_at", sa.DateTime),
        sa.Column("blocked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("blocked_at", sa.DateTime),
        sa.Column("blocked_reason", sa.Text, nullable=False),
    )
    op.create_table(
        "commenter_link",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("commenter_id", sa.Integer, sa.ForeignKey("commenter.id"), nullable=False),
        sa.Column("next_path", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("used_at", sa.DateTime),
        sa.Column("last_seen_at", sa.DateTime),
        sa.Column("ended_at", sa.DateTime),
    )
    op.create_index("ix_commenter_link_commenter_id", "commenter_link", ["commenter_id"])
    op.create_table(
        "comment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("post_id", sa.Integer, sa.ForeignKey("news_post.id"), nullable=False),
        sa.Column("commenter_id", sa.Integer, sa.ForeignKey("commenter.id"), nullable=False),
        sa.Column("display_name", sa.String(60), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("original_body", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("queued", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("queued_at", sa.DateTime),
        sa.Column("on_register", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("posted_anyway", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("decided_at", sa.DateTime),
        sa.Column("decided_by_id", sa.Integer, sa.ForeignKey("staff_user.id")),
        sa.Column("decision_reason", sa.Text, nullable=False),
        sa.Column("report_count", sa.Integer, nullable=False),
    )
    op.create_index("ix_comment_commenter_id", "comment", ["commenter_id"])
    op.create_index(
        "ix_comment_post_status_created", "comment", ["post_id", "status", "created_at"]
    )
    op.create_index("ix_comment_queue", "comment", ["queued", "queued_at", "id"])
    op.create_table(
        "external_comment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("link", sa.String(500), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("noted_at", sa.DateTime, nullable=False),
        sa.Column("noted_by_id", sa.Integer, sa.ForeignKey("staff_user.id"), nullable=False),
    )
    op.create_table(
        "comment_flag",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("comment_id", sa.Integer, sa.ForeignKey("comment.id")),
        sa.Column("external_id", sa.Integer, sa.ForeignKey("external_comment.id")),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("end", sa.Integer, nullable=False),
        sa.Column("matched", sa.Text, nullable=False),
        sa.Column("context", sa.Text, nullable=False),
        sa.Column("explanation", sa.Text, nullable=False),
    )
    op.create_index("ix_comment_flag_comment_id", "comment_flag", ["comment_id"])
    op.create_index("ix_comment_flag_external_id", "comment_flag", ["external_id"])
    op.create_index("ix_comment_flag_rule_comment", "comment_flag", ["rule", "comment_id"])
    op.create_table(
        "comment_report",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("comment_id", sa.Integer, sa.ForeignKey("comment.id"), nullable=False),
        sa.Column("commenter_id", sa.Integer, sa.ForeignKey("commenter.id"), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("comment_id", "commenter_id"),
    )
    op.create_index("ix_comment_report_comment_id", "comment_report", ["comment_id"])
    words = op.create_table(
        "moderation_word",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("word", sa.String(100), nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("kind", "word"),
    )
    settings = op.create_table(
        "moderation_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("who_may_comment", sa.String(16), nullable=False),
        sa.Column("reports_to_hide", sa.Integer, nullable=False),
        sa.Column("words_revision", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    op.bulk_insert(
        words,
        [{"kind": "banned", "word": word, "added_at": SEEDED_AT} for word in BANNED]
        + [{"kind": "suspect", "word": word, "added_at": SEEDED_AT} for word in SUSPECT],
    )
    op.bulk_insert(
        settings,
        [
            {
                "id": 1,
                "who_may_comment": "register",
                "reports_to_hide": 3,
                "words_revision": 1,
                "revision": 1,
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("moderation_settings")
    op.drop_table("moderation_word")
    op.drop_table("comment_report")
    op.drop_table("comment_flag")
    op.drop_table("external_comment")
    op.drop_table("comment")
    op.drop_table("commenter_link")
    op.drop_table("commenter")
