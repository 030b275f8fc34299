"""the school's news posts, their pictures and the pupils in them

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 08:00:00

- news_post: a post (draft, waiting for the head, returned, approved from publish_at, taken
  down), with the author, the approver, and a flag when consent for a pupil in it is withdrawn.
- news_post_image: a picture in a post (re-encoded, with its alt text).
- news_post_pupil: a pupil who appears in a post, and whether the post names them.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "news_post",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(120), nullable=False, unique=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("summary", sa.String(300), nullable=False),
        sa.Column("body_markdown", sa.Text, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("names_pupils", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("staff_user.id"), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("submitted_at", sa.DateTime),
        sa.Column("approved_by_id", sa.Integer, sa.ForeignKey("staff_user.id")),
        sa.Column("approved_at", sa.DateTime),
        sa.Column("publish_at", sa.DateTime),
        sa.Column("withdrawn_at", sa.DateTime),
        sa.Column("consent_flagged_at", sa.DateTime),
        sa.Column("consent_flag_detail", sa.Text, nullable=False),
        sa.Column("comments_open", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    op.create_index("ix_news_post_author_id", "news_post", ["author_id"])
    op.create_index("ix_news_post_status_publish_at", "news_post", ["status", "publish_at"])
    op.create_table(
        "news_post_image",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("post_id", sa.Integer, sa.ForeignKey("news_post.id"), nullable=False),
        sa.Column("stored_name", sa.String(80), nullable=False, unique=True),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("alt_text", sa.String(500), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("uploaded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_news_post_image_post_id", "news_post_image", ["post_id"])
    op.create_table(
        "news_post_pupil",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("post_id", sa.Integer, sa.ForeignKey("news_post.id"), nullable=False),
        sa.Column("pupil_id", sa.Integer, sa.ForeignKey("pupil.id"), nullable=False),
        sa.Column("named", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("post_id", "pupil_id"),
    )
    op.create_index("ix_news_post_pupil_post_id", "news_post_pupil", ["post_id"])
    op.create_index("ix_news_post_pupil_pupil_id", "news_post_pupil", ["pupil_id"])


def downgrade() -> None:
    op.drop_table("news_post_pupil")
    op.drop_table("news_post_image")
    op.drop_table("news_post")
