"""indexes for the staff home: "your move" by handler and status, cases about a person

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-06 01:25:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_complaint_handler_status_queue",
        "complaint",
        ["handler_user_id", "status", "queue_date", "id"],
        unique=False,
    )
    op.create_index(
        "ix_complaint_about_user", "complaint", ["about_user_id", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_complaint_about_user", table_name="complaint")
    op.drop_index("ix_complaint_handler_status_queue", table_name="complaint")
