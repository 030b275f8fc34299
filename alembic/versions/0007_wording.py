"""a school's own wording for emails and letters

Revision ID: 0007c
Revises: 0007a
Create Date: 2026-12-01 21:30:00

- wording_override: one row per school and email or letter the school has reworded (subject and
  body templates, a save counter for conditional updates, who saved it and when). No row: our
  default text in templates/wording/ is used.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007c"
down_revision: str | None = "0007a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wording_override",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("school_id", sa.Integer, sa.ForeignKey("school_profile.id"), nullable=False),
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("subject", sa.Text, nullable=False, server_default=""),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("updated_by_id", sa.Integer, sa.ForeignKey("staff_user.id"), nullable=True),
        sa.UniqueConstraint("school_id", "key", name="uq_wording_override_school_key"),
    )


def downgrade() -> None:
    op.drop_table("wording_override")
