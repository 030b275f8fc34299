"""the school's settings stamp

Revision ID: 0008
Revises: 0007c
Create Date: 2026-12-05 22:10:00

- school_profile.settings_stamp: a random value given anew by every transaction that changes the
  school's settings (the profile, its term dates or its wording). Each process keeps what it
  worked out from the settings under the stamp it read, so a request reads one short row instead
  of the profile, the term dates and the wording, and a change made by any process is seen by
  the next request everywhere.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (with a default, as SQLite needs) on both databases: no table copy.
    op.add_column(
        "school_profile",
        sa.Column("settings_stamp", sa.String(32), nullable=False, server_default="initial"),
    )


def downgrade() -> None:
    with op.batch_alter_table("school_profile") as batch:
        batch.drop_column("settings_stamp")
