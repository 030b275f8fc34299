"""complaints logged by office: how each case came, who logged it, a postal address

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-06 01:00:00

- complaint.channel ("online", "phone", "letter", "email", "in_person"), default "online".
- complaint.logged_by_user_id: the member of staff who logged it (null for the parent's form).
- complaint.stated_received_on: the day the parent says the school received it (received_on is
  the school day it counts from).
- complaint.parent_address: the postal address, for letters on paper when there is no email.
- complaint.paper_link_sealed: the private link, sealed under the secret key, kept only for a
  parent with no email so that office can print it on the acknowledgement letter.
- complaint.intake_token_hash: the digest of the "Log a complaint" form's one-time token, unique,
  so that the same form sent twice makes one case.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The plain columns: ALTER TABLE ADD COLUMN on both databases. Nothing here may make SQLite
# rebuild the table (a batch "move and copy"): that would drop the full-text triggers on it.
def _columns() -> list[sa.Column]:
    return [
        sa.Column("channel", sa.String(16), nullable=False, server_default="online"),
        sa.Column("parent_address", sa.String(500), nullable=False, server_default=""),
        sa.Column("stated_received_on", sa.Date, nullable=True),
        sa.Column("paper_link_sealed", sa.Text, nullable=True),
        sa.Column("intake_token_hash", sa.String(64), nullable=True),
    ]


FK_NAME = "fk_complaint_logged_by_user_id_staff_user"
FTS_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS complaint_fts_insert AFTER INSERT ON complaint BEGIN "
    "INSERT INTO complaint_fts(rowid, parent_name, what_happened) "
    "VALUES (new.id, new.parent_name, new.what_happened); END",
    "CREATE TRIGGER IF NOT EXISTS complaint_fts_delete AFTER DELETE ON complaint BEGIN "
    "INSERT INTO complaint_fts(complaint_fts, rowid, parent_name, what_happened) "
    "VALUES ('delete', old.id, old.parent_name, old.what_happened); END",
    "CREATE TRIGGER IF NOT EXISTS complaint_fts_update AFTER UPDATE OF parent_name, "
    "what_happened ON complaint BEGIN "
    "INSERT INTO complaint_fts(complaint_fts, rowid, parent_name, what_happened) "
    "VALUES ('delete', old.id, old.parent_name, old.what_happened); "
    "INSERT INTO complaint_fts(rowid, parent_name, what_happened) "
    "VALUES (new.id, new.parent_name, new.what_happened); END",
)


def upgrade() -> None:
    for column in _columns():
        op.add_column("complaint", column)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its reference in place (no constraint of its own).
        op.execute(
            "ALTER TABLE complaint ADD COLUMN logged_by_user_id INTEGER REFERENCES staff_user (id)"
        )
    else:
        op.add_column("complaint", sa.Column("logged_by_user_id", sa.Integer, nullable=True))
        op.create_foreign_key(FK_NAME, "complaint", "staff_user", ["logged_by_user_id"], ["id"])
    op.create_index(
        "uq_complaint_intake_token_hash", "complaint", ["intake_token_hash"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_complaint_intake_token_hash", table_name="complaint")
    if op.get_bind().dialect.name == "sqlite":
        # A column with a reference can only go with a rebuild of the table, which drops its
        # triggers: put the full-text ones back (0002).
        with op.batch_alter_table("complaint") as batch:
            batch.drop_column("logged_by_user_id")
            for column in reversed(_columns()):
                batch.drop_column(column.name)
        for trigger in FTS_TRIGGERS:
            op.execute(trigger)
        return
    op.drop_constraint(FK_NAME, "complaint", type_="foreignkey")
    op.drop_column("complaint", "logged_by_user_id")
    for column in reversed(_columns()):
        op.drop_column("complaint", column.name)
