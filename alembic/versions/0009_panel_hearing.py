"""the panel hearing: time, format, place, papers deadline, the parent's companion

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 23:00:00

- panel.hearing_time ("18:00"), hearing_format ("in_person", "video", "papers"),
  hearing_place (room or address, or how to join), papers_by (the last day to send papers),
  companion_name and companion_asked_at (the parent's request to bring someone).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def _columns() -> list[sa.Column]:
    return [
        sa.Column("hearing_time", sa.String(5), nullable=False, server_default=""),
        sa.Column("hearing_format", sa.String(20), nullable=False, server_default="in_person"),
        sa.Column("hearing_place", sa.String(200), nullable=False, server_default=""),
        sa.Column("papers_by", sa.Date, nullable=True),
        sa.Column("companion_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("companion_asked_at", sa.DateTime, nullable=True),
    ]


def upgrade() -> None:
    for column in _columns():
        op.add_column("panel", column)


def downgrade() -> None:
    for column in reversed(_columns()):
        op.drop_column("panel", column.name)
