"""parents confirm the photo guidance and the online policy; school events; reminders

Revision ID: 0025
Revises: 0021
Create Date: 2026-12-06 05:00:00

- consent_settings.photo_guidance_version: the photo guidance's version (the school raises it);
  consent_settings.confirmation_reminder_days: days between reminders to the same people.
- parent_confirmation: a contact confirmed a document (photo guidance, online policy) at a
  version; never changed, one per contact, document and version.
- school_event / event_invitation: an event whose details go to some classes' or year groups'
  families, maybe only once they confirmed the photo guidance; each contact's invitation
  (waiting, or details sent).
- confirmation_reminder / confirmation_reminder_claim: each "email those who have not
  confirmed", and each scope's last sending (claimed by a conditional update).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_settings") as batch:
        batch.add_column(
            sa.Column(
                "photo_guidance_version", sa.Integer, nullable=False, server_default=sa.text("1")
            )
        )
        batch.add_column(
            sa.Column(
                "confirmation_reminder_days",
                sa.Integer,
                nullable=False,
                server_default=sa.text("7"),
            )
        )
    op.create_table(
        "parent_confirmation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "contact_id", sa.Integer, sa.ForeignKey("pupil_contact_person.id"), nullable=False
        ),
        sa.Column("document", sa.String(30), nullable=False),
        sa.Column("version", sa.String(20), nullable=False),
        sa.Column("confirmed_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("contact_id", "document", "version"),
    )
    op.create_table(
        "school_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("classes", sa.Text, nullable=False),
        sa.Column("year_groups", sa.Text, nullable=False),
        sa.Column("needs_photo_guidance", sa.Boolean, nullable=False),
        sa.Column(
            "created_by_user_id", sa.Integer, sa.ForeignKey("staff_user.id"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime, nullable=True),
        sa.Column("sent_by_user_id", sa.Integer, sa.ForeignKey("staff_user.id"), nullable=True),
    )
    op.create_table(
        "event_invitation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.Integer, sa.ForeignKey("school_event.id"), nullable=False),
        sa.Column(
            "contact_id", sa.Integer, sa.ForeignKey("pupil_contact_person.id"), nullable=False
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("details_sent_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("event_id", "contact_id"),
    )
    op.create_index(
        "ix_event_invitation_contact_status", "event_invitation", ["contact_id", "status"]
    )
    op.create_table(
        "confirmation_reminder",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scope", sa.String(120), nullable=False),
        sa.Column("document", sa.String(30), nullable=False),
        sa.Column("version", sa.String(20), nullable=False),
        sa.Column("sent_by_user_id", sa.Integer, sa.ForeignKey("staff_user.id"), nullable=False),
        sa.Column("sent_at", sa.DateTime, nullable=False),
        sa.Column("emails", sa.Integer, nullable=False),
    )
    op.create_index("ix_confirmation_reminder_scope", "confirmation_reminder", ["scope"])
    op.create_table(
        "confirmation_reminder_claim",
        sa.Column("scope", sa.String(120), primary_key=True),
        sa.Column("last_sent_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("confirmation_reminder_claim")
    op.drop_index("ix_confirmation_reminder_scope", table_name="confirmation_reminder")
    op.drop_table("confirmation_reminder")
    op.drop_index("ix_event_invitation_contact_status", table_name="event_invitation")
    op.drop_table("event_invitation")
    op.drop_table("school_event")
    op.drop_table("parent_confirmation")
    with op.batch_alter_table("consent_settings") as batch:
        batch.drop_column("confirmation_reminder_days")
        batch.drop_column("photo_guidance_version")
