"""photo consent settings page, and the evidence behind answers staff enter

Revision ID: 0022
Revises: 0023
Create Date: 2026-12-08 10:00:00

- consent_purpose.reask_from_version: the wording version from which parents were asked again
  (answers to an earlier version count as lapsed); consent_purpose.revision and
  consent_settings.revision: move on at every change from the settings page, so a change made
  from a page that showed an older one is refused (two admins at once: one wins).
- consent_evidence: the scanned paper form (stored in the database) or the note of a phone call
  that answers entered by staff came from; consent_record.evidence_id points at it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_purpose") as batch:
        batch.add_column(sa.Column("reask_from_version", sa.Integer, nullable=True))
        batch.add_column(
            sa.Column("revision", sa.Integer, nullable=False, server_default=sa.text("0"))
        )
    with op.batch_alter_table("consent_settings") as batch:
        batch.add_column(
            sa.Column("revision", sa.Integer, nullable=False, server_default=sa.text("0"))
        )
    op.create_table(
        "consent_evidence",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pupil_id", sa.Integer, sa.ForeignKey("pupil.id"), nullable=False),
        sa.Column("how", sa.String(10), nullable=False),
        sa.Column("call_note", sa.Text, nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=True),
        sa.Column("added_by_user_id", sa.Integer, sa.ForeignKey("staff_user.id"), nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_consent_evidence_pupil_id", "consent_evidence", ["pupil_id"])
    with op.batch_alter_table("consent_record") as batch:
        batch.add_column(sa.Column("evidence_id", sa.Integer, nullable=True))
        batch.create_foreign_key(
            "fk_consent_record_evidence_id", "consent_evidence", ["evidence_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_record") as batch:
        batch.drop_constraint("fk_consent_record_evidence_id", type_="foreignkey")
        batch.drop_column("evidence_id")
    op.drop_index("ix_consent_evidence_pupil_id", table_name="consent_evidence")
    op.drop_table("consent_evidence")
    with op.batch_alter_table("consent_settings") as batch:
        batch.drop_column("revision")
    with op.batch_alter_table("consent_purpose") as batch:
        batch.drop_column("revision")
        batch.drop_column("reask_from_version")
