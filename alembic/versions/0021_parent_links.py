"""photo consent online: parents' one-time sign-in links, pupils' own agreement, invitations

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 04:30:00

- parent_sign_in: a one-time link emailed to a contact on the register (only its token's
  SHA-256 is kept), when it expires and was used, and the short session it started (last seen,
  ended at "Sign out").
- consent_settings.ask_pupils_12_and_over: pupils aged 12 and over are asked too (default off).
- consent_record.pupil_agreed: whether the pupil agreed, as their parent told us (null when not
  asked).
- consent_invitation: the "please answer again" email sent when answers lapse, at most once per
  contact, pupil and validity period.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "parent_sign_in",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column(
            "contact_id", sa.Integer, sa.ForeignKey("pupil_contact_person.id"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("used_at", sa.DateTime, nullable=True),
        sa.Column("last_seen_at", sa.DateTime, nullable=True),
        sa.Column("ended_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_parent_sign_in_contact_id", "parent_sign_in", ["contact_id"])
    with op.batch_alter_table("consent_settings") as batch:
        batch.add_column(
            sa.Column(
                "ask_pupils_12_and_over", sa.Boolean, nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("consent_record") as batch:
        batch.add_column(sa.Column("pupil_agreed", sa.Boolean, nullable=True))
    op.create_table(
        "consent_invitation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "contact_id", sa.Integer, sa.ForeignKey("pupil_contact_person.id"), nullable=False
        ),
        sa.Column("pupil_id", sa.Integer, sa.ForeignKey("pupil.id"), nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("sent_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("contact_id", "pupil_id", "period"),
    )


def downgrade() -> None:
    op.drop_table("consent_invitation")
    with op.batch_alter_table("consent_record") as batch:
        batch.drop_column("pupil_agreed")
    with op.batch_alter_table("consent_settings") as batch:
        batch.drop_column("ask_pupils_12_and_over")
    op.drop_index("ix_parent_sign_in_contact_id", table_name="parent_sign_in")
    op.drop_table("parent_sign_in")
