"""every case an inbound email names

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 02:30:00

- inbound_mail_case (mail_id, complaint_id): each case whose genuine reply address an inbound
  email was written to. A held email is shown only to someone who may see every case it names.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_mail_case",
        sa.Column(
            "mail_id",
            sa.Integer,
            sa.ForeignKey("inbound_mail.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "complaint_id",
            sa.Integer,
            sa.ForeignKey("complaint.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_inbound_mail_case_complaint_id", "inbound_mail_case", ["complaint_id"])


def downgrade() -> None:
    op.drop_index("ix_inbound_mail_case_complaint_id", table_name="inbound_mail_case")
    op.drop_table("inbound_mail_case")
