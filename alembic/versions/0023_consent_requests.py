"""photo consent: requests for answers sent to a class or year group, and their interval

Revision ID: 0023
Revises: 0024
Create Date: 2026-12-07 10:00:00

- consent_settings.request_interval_days: days before a class may be sent another request (7).
- consent_request: each request sent (who, when, which class or year, purposes, how many).
- consent_request_class: when each class was last sent one (claimed by a conditional update, so
  two requests at once send once).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_settings") as batch:
        batch.add_column(
            sa.Column("request_interval_days", sa.Integer, nullable=False, server_default="7")
        )
    op.create_table(
        "consent_request",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "sent_by_user_id", sa.Integer, sa.ForeignKey("staff_user.id"), nullable=False
        ),
        sa.Column("sent_at", sa.DateTime, nullable=False),
        sa.Column("group_label", sa.String(80), nullable=False),
        sa.Column("purposes", sa.String(400), nullable=False),
        sa.Column("pupils", sa.Integer, nullable=False),
        sa.Column("families", sa.Integer, nullable=False),
        sa.Column("no_email", sa.Integer, nullable=False),
    )
    op.create_index("ix_consent_request_sent_at", "consent_request", ["sent_at"])
    op.create_table(
        "consent_request_class",
        sa.Column("class_name", sa.String(40), primary_key=True),
        sa.Column(
            "request_id", sa.Integer, sa.ForeignKey("consent_request.id"), nullable=False
        ),
        sa.Column("sent_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("consent_request_class")
    op.drop_index("ix_consent_request_sent_at", table_name="consent_request")
    op.drop_table("consent_request")
    with op.batch_alter_table("consent_settings") as batch:
        batch.drop_column("request_interval_days")
