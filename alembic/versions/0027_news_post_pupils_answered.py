"""whether a news post's author has said who is in its pictures

Revision ID: 0027
Revises: 0028
Create Date: 2026-12-06 09:00:00

It follows 0028 (comment moderation, merged first, which revises 0026) so the chain keeps one
head: 0026 -> 0028 -> 0027.

- news_post.pupils_answered: the author has answered "which pupils are in the pictures?" (none
  is an answer too); a post with pictures cannot be sent to the head until they have.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0027"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("news_post") as batch:
        batch.add_column(
            sa.Column("pupils_answered", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("news_post") as batch:
        batch.drop_column("pupils_answered")
