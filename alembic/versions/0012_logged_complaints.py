"""complaints logged by office: how each case came, who logged it, a postal address

Revision ID: 0012
Revises: 0009
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
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(16), nullable=False, server_default="online")
        )
        batch.add_column(sa.Column("logged_by_user_id", sa.Integer, nullable=True))
        batch.add_column(
            sa.Column("parent_address", sa.String(500), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("stated_received_on", sa.Date, nullable=True))
        batch.add_column(sa.Column("paper_link_sealed", sa.Text, nullable=True))
        batch.add_column(sa.Column("intake_token_hash", sa.String(64), nullable=True))
        batch.create_foreign_key(
            "fk_complaint_logged_by_user_id_staff_user",
            "staff_user",
            ["logged_by_user_id"],
            ["id"],
        )
        batch.create_unique_constraint("uq_complaint_intake_token_hash", ["intake_token_hash"])


def downgrade() -> None:
    with op.batch_alter_table("complaint") as batch:
        batch.drop_constraint("uq_complaint_intake_token_hash", type_="unique")
        batch.drop_constraint("fk_complaint_logged_by_user_id_staff_user", type_="foreignkey")
        batch.drop_column("intake_token_hash")
        batch.drop_column("paper_link_sealed")
        batch.drop_column("stated_received_on")
        batch.drop_column("parent_address")
        batch.drop_column("logged_by_user_id")
        batch.drop_column("channel")
