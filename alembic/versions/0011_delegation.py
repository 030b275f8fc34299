"""delegation: a concern or stage 1 case given to a senior leader to look into

Revision ID: 0011
Revises: 0012
Create Date: 2026-12-06 01:00:00

- complaint.delegate_user_id (the senior leader the handler gave the investigation to) and
  complaint.delegated_at (since when), with an index for the delegate's queue. The role itself
  ("senior_leader") lives in staff_user.role_names and needs no change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    # Not batch mode on SQLite: re-creating the complaint table would drop its search triggers.
    # SQLite adds a column with its REFERENCES clause in place.
    if _postgresql():
        op.add_column("complaint", sa.Column("delegate_user_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_complaint_delegate_user_id", "complaint", "staff_user", ["delegate_user_id"], ["id"]
        )
    else:
        op.execute(
            "ALTER TABLE complaint ADD COLUMN delegate_user_id INTEGER REFERENCES staff_user (id)"
        )
    op.add_column("complaint", sa.Column("delegated_at", sa.DateTime(), nullable=True))
    op.create_index("ix_complaint_delegate", "complaint", ["delegate_user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_complaint_delegate", table_name="complaint")
    op.drop_column("complaint", "delegated_at")
    if _postgresql():
        op.drop_constraint("fk_complaint_delegate_user_id", "complaint", type_="foreignkey")
    # SQLite (3.35+) drops a column that no index or constraint of its own names.
    op.drop_column("complaint", "delegate_user_id")
