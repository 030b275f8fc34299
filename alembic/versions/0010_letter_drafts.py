"""letter drafts: the handler's letter kept as typed until it is previewed and sent

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 01:10:00

- letter_draft: one row per case and stage (concern reply, stage 1 response, panel outcome):
  the outcome and the three parts of the letter exactly as typed, who saved it and when, and once
  sent the time and the message it became. A version column makes a save or send from a stale
  page fail instead of overwriting.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "letter_draft",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "complaint_id",
            sa.Integer,
            sa.ForeignKey("complaint.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False, server_default=""),
        sa.Column("investigated", sa.Text, nullable=False, server_default=""),
        sa.Column("decision", sa.Text, nullable=False, server_default=""),
        sa.Column("actions", sa.Text, nullable=False, server_default=""),
        sa.Column("saved_by_user_id", sa.Integer, sa.ForeignKey("staff_user.id"), nullable=True),
        sa.Column("saved_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime, nullable=True),
        sa.Column(
            "message_id", sa.Integer, sa.ForeignKey("complaint_message.id"), nullable=True
        ),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index(
        "ux_letter_draft_case_stage", "letter_draft", ["complaint_id", "stage"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ux_letter_draft_case_stage", table_name="letter_draft")
    op.drop_table("letter_draft")
