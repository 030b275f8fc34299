"""school profile and term dates in the database

Revision ID: 0007a
Revises: 0004h
Create Date: 2026-12-01 20:45:00

- school_profile: what a school says about itself (name, crest, colour, contacts, official
  channels, timescales, categories, out-of-scope procedures, letter paragraphs), edited on the
  admin pages. It replaces the PORTAL_SCHOOL_NAME ... PORTAL_*_DAYS environment settings.
- school_term, school_closure: the term dates, edited on the admin pages (no more file and
  restart).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007a"
down_revision: str | None = "0004h"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "school_profile",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("brand_colour", sa.String(7), nullable=False),
        sa.Column("crest_image", sa.LargeBinary),
        sa.Column("crest_media_type", sa.String(40)),
        sa.Column("crest_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("contact_email", sa.String(320), nullable=False, server_default=""),
        sa.Column("contact_phone", sa.String(40), nullable=False, server_default=""),
        sa.Column("contact_address", sa.String(300), nullable=False, server_default=""),
        sa.Column("website_url", sa.String(300), nullable=False, server_default=""),
        sa.Column("official_channels", sa.JSON),
        sa.Column("acknowledge_within_days", sa.Integer, nullable=False, server_default="5"),
        sa.Column("concern_response_days", sa.Integer, nullable=False, server_default="10"),
        sa.Column("stage1_response_days", sa.Integer, nullable=False, server_default="10"),
        sa.Column("escalation_window_days", sa.Integer, nullable=False, server_default="10"),
        sa.Column("stage2_outcome_days", sa.Integer, nullable=False, server_default="20"),
        sa.Column("late_after_months", sa.Integer, nullable=False, server_default="3"),
        sa.Column("reminder_days_before", sa.Integer, nullable=False, server_default="2"),
        sa.Column("categories", sa.JSON),
        sa.Column("out_of_scope", sa.JSON),
        sa.Column("letter_paragraphs", sa.JSON),
        sa.Column("set_up_at", sa.DateTime),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "school_term",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("school_id", sa.Integer, sa.ForeignKey("school_profile.id"), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("end", sa.Date, nullable=False),
    )
    op.create_index("ix_school_term_school_id", "school_term", ["school_id"])
    op.create_table(
        "school_closure",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("school_id", sa.Integer, sa.ForeignKey("school_profile.id"), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("reason", sa.String(120), nullable=False, server_default=""),
        sa.UniqueConstraint("school_id", "day", name="uq_school_closure_day"),
    )
    op.create_index("ix_school_closure_school_id", "school_closure", ["school_id"])


def downgrade() -> None:
    op.drop_table("school_closure")
    op.drop_table("school_term")
    op.drop_table("school_profile")
