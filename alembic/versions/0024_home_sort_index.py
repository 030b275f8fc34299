"""index for the staff home's count of cases to sort: status, about and who a case is about

Revision ID: 0024
Revises: 0020
Create Date: 2026-12-06 04:20:00

The home counts the new and held cases a person sorts. Through `ix_complaint_status_queue` the
database read each such case's row to see what it is about and whom it names (about 4,400 rows
for the office at 250,000 cases, 10 ms on SQLite); this index answers the count by itself.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_complaint_status_about",
        "complaint",
        ["status", "about", "about_user_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_complaint_status_about", table_name="complaint")
