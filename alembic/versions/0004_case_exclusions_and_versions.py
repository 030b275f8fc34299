"""who a case must never reach, a version per case, sealed secrets in the outbox

Revision ID: 0004c
Revises: 0003
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004c"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_exclusion",
        sa.Column(
            "complaint_id",
            sa.Integer(),
            sa.ForeignKey("complaint.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("staff_user.id"), primary_key=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("matched_words", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_case_exclusion_user", "case_exclusion", ["user_id", "complaint_id"])
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("sealed_secret", sa.Text(), nullable=True))
    # Cases already received: whoever they name stays out of them, as new cases do.
    op.execute(
        "INSERT INTO case_exclusion (complaint_id, user_id, reason, matched_words, created_at) "
        "SELECT id, about_user_id, 'named_at_triage', '', received_at FROM complaint "
        "WHERE about_user_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("sealed_secret")
    with op.batch_alter_table("complaint") as batch:
        batch.drop_column("version")
    op.drop_index("ix_case_exclusion_user", table_name="case_exclusion")
    op.drop_table("case_exclusion")
