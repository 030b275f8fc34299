"""photo consent: the pupil register, contacts, purposes and imports

Revision ID: 0020
Revises: 0016
Create Date: 2026-12-06 02:10:00

- pupil: a child on the register, found by the school's pupil id (mis_id, unique); pupils missing
  from a full import are marked left (on_roll false, left_on), never deleted.
- pupil_contact_person / pupil_contact: parents and carers (one row per email address) and which
  pupils they are contacts of, with relationship and parental responsibility.
- consent_purpose: the uses parents answer for, with the wording's version; the six defaults are
  added on first use (`portal.consent.services.purposes`).
- pupil_import: an uploaded export, kept from its preview to its confirmation.
- pupil_import_column: which column of the school's export holds which field (remembered).
- safeguarding_flag: a pupil whose picture is never used (at most one active per pupil: a
  partial unique index); consent_settings: who sees a flag's reason, how long consent lasts.
- consent_record: each answer (pupil, purpose, contact, yes/no, naming, when, how, who entered
  it, the wording version shown), append-only.
- photo_check / photo_check_pupil: each photo check made, with its answer per pupil as given then.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pupil",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("mis_id", sa.String(40), nullable=False),
        sa.Column("legal_first_name", sa.String(100), nullable=False),
        sa.Column("legal_last_name", sa.String(100), nullable=False),
        sa.Column("preferred_name", sa.String(100), nullable=False),
        sa.Column("year_group", sa.String(20), nullable=False),
        sa.Column("class_name", sa.String(40), nullable=False),
        sa.Column("date_of_birth", sa.Date, nullable=False),
        sa.Column("on_roll", sa.Boolean, nullable=False),
        sa.Column("left_on", sa.Date, nullable=True),
        sa.UniqueConstraint("mis_id"),
    )
    op.create_index("ix_pupil_class_name", "pupil", ["class_name"])
    op.create_table(
        "pupil_contact_person",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
    )
    op.create_index("ix_pupil_contact_person_email", "pupil_contact_person", ["email"])
    op.create_table(
        "pupil_contact",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pupil_id", sa.Integer, sa.ForeignKey("pupil.id"), nullable=False),
        sa.Column(
            "contact_id", sa.Integer, sa.ForeignKey("pupil_contact_person.id"), nullable=False
        ),
        sa.Column("relationship", sa.String(60), nullable=False),
        sa.Column("parental_responsibility", sa.Boolean, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.UniqueConstraint("pupil_id", "contact_id"),
    )
    op.create_table(
        "consent_purpose",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("wording", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("asks_naming", sa.Boolean, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "pupil_import",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "uploaded_by_user_id", sa.Integer, sa.ForeignKey("staff_user.id"), nullable=False
        ),
        sa.Column("uploaded_at", sa.DateTime, nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=True),
        sa.Column("full", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("applied_at", sa.DateTime, nullable=True),
        sa.Column("summary", sa.Text, nullable=False),
    )
    op.create_table(
        "pupil_import_column",
        sa.Column("field_key", sa.String(40), primary_key=True),
        sa.Column("header", sa.String(200), nullable=False),
    )
    op.create_table(
        "safeguarding_flag",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pupil_id", sa.Integer, sa.ForeignKey("pupil.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("set_by_user_id", sa.Integer, sa.ForeignKey("staff_user.id"), nullable=False),
        sa.Column("set_at", sa.DateTime, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("cleared_by_user_id", sa.Integer, sa.ForeignKey("staff_user.id"), nullable=True),
        sa.Column("cleared_at", sa.DateTime, nullable=True),
    )
    op.create_index(
        "ux_safeguarding_flag_active",
        "safeguarding_flag",
        ["pupil_id"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "consent_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("flag_roles", sa.String(200), nullable=False),
        sa.Column("validity", sa.String(20), nullable=False),
    )
    op.create_table(
        "consent_record",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pupil_id", sa.Integer, sa.ForeignKey("pupil.id"), nullable=False),
        sa.Column(
            "purpose_id", sa.Integer, sa.ForeignKey("consent_purpose.id"), nullable=False
        ),
        sa.Column(
            "contact_id", sa.Integer, sa.ForeignKey("pupil_contact_person.id"), nullable=False
        ),
        sa.Column("answer", sa.Boolean, nullable=False),
        sa.Column("naming", sa.Boolean, nullable=True),
        sa.Column("given_at", sa.DateTime, nullable=False),
        sa.Column("how", sa.String(10), nullable=False),
        sa.Column(
            "entered_by_user_id", sa.Integer, sa.ForeignKey("staff_user.id"), nullable=True
        ),
        sa.Column("wording_version", sa.Integer, nullable=False),
    )
    op.create_index(
        "ix_consent_record_pupil", "consent_record", ["pupil_id", "purpose_id", "id"]
    )
    op.create_table(
        "photo_check",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "checked_by_user_id", sa.Integer, sa.ForeignKey("staff_user.id"), nullable=False
        ),
        sa.Column("checked_at", sa.DateTime, nullable=False),
        sa.Column(
            "purpose_id", sa.Integer, sa.ForeignKey("consent_purpose.id"), nullable=False
        ),
    )
    op.create_table(
        "photo_check_pupil",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("check_id", sa.Integer, sa.ForeignKey("photo_check.id"), nullable=False),
        sa.Column("pupil_id", sa.Integer, sa.ForeignKey("pupil.id"), nullable=False),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("why", sa.String(20), nullable=False),
        sa.Column("may_name", sa.Boolean, nullable=False),
    )
    op.create_index("ix_photo_check_pupil_check_id", "photo_check_pupil", ["check_id"])


def downgrade() -> None:
    op.drop_index("ix_photo_check_pupil_check_id", table_name="photo_check_pupil")
    op.drop_table("photo_check_pupil")
    op.drop_table("photo_check")
    op.drop_index("ix_consent_record_pupil", table_name="consent_record")
    op.drop_table("consent_record")
    op.drop_table("consent_settings")
    op.drop_index("ux_safeguarding_flag_active", table_name="safeguarding_flag")
    op.drop_table("safeguarding_flag")
    op.drop_table("pupil_import_column")
    op.drop_table("pupil_import")
    op.drop_table("consent_purpose")
    op.drop_table("pupil_contact")
    op.drop_index("ix_pupil_contact_person_email", table_name="pupil_contact_person")
    op.drop_table("pupil_contact_person")
    op.drop_index("ix_pupil_class_name", table_name="pupil")
    op.drop_table("pupil")
