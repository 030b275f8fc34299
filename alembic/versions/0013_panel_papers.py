"""the panel bundle: when the clerk sent it

Revision ID: 0013
Revises: 0014
Create Date: 2026-12-06 01:00:00

- panel.bundle_sent_at: when the clerk or chair last sent the panel bundle (the parent may
  download it from then on). Papers themselves are messages of kind "panel_papers" with their
  files linked by message_id, so they need no new table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("panel", sa.Column("bundle_sent_at", sa.DateTime, nullable=True))


def downgrade() -> None:
    op.drop_column("panel", "bundle_sent_at")
