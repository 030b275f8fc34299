"""queue index for "all cases, including closed"

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 18:35:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_complaint_queue_all", "complaint", ["queue_date", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_complaint_queue_all", table_name="complaint")
