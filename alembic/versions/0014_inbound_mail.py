"""parents' email replies: the reply address on outgoing mail, the emails received

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-06 01:00:00

- outbox_message.reply_to: a case's reply address (reply+<token>@...), when the school has one.
- inbound_mail: every email received at a reply address, once (message_key, the SHA-256 of its
  Message-ID, is unique): placed on its case, or held whole (raw) for office with the reason.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox_message", sa.Column("reply_to", sa.String(320), nullable=True))
    op.create_table(
        "inbound_mail",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_key", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("reason_detail", sa.Text, nullable=False),
        sa.Column(
            "complaint_id",
            sa.Integer,
            sa.ForeignKey("complaint.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "message_id",
            sa.Integer,
            sa.ForeignKey("complaint_message.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("raw", sa.LargeBinary, nullable=True),
        sa.Column("decided_by_user_id", sa.Integer, sa.ForeignKey("staff_user.id"), nullable=True),
        sa.Column("decided_at", sa.DateTime, nullable=True),
        sa.Column("decision_note", sa.Text, nullable=False),
        sa.UniqueConstraint("message_key"),
    )
    op.create_index("ix_inbound_mail_status", "inbound_mail", ["status", "id"])
    op.create_index("ix_inbound_mail_sender", "inbound_mail", ["sender", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_mail_sender", table_name="inbound_mail")
    op.drop_index("ix_inbound_mail_status", table_name="inbound_mail")
    op.drop_table("inbound_mail")
    op.drop_column("outbox_message", "reply_to")
