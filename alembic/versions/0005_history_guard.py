"""history guard: no DELETE, TRUNCATE or back-dated INSERT on history; outbox knows its case

Revision ID: 0004h
Revises: 0004c
Create Date: 2026-11-26 09:00:00

- history_event: DELETE is refused unless the transaction holds the purge permit; TRUNCATE is
  always refused (PostgreSQL); an INSERT dated more than 5 minutes before the newest event is
  refused unless the transaction holds the import permit. See portal/history.py.
  PostgreSQL: a permit is `SET LOCAL portal.allow_history_purge|import = 'on'`, honoured only for
  the table's owner. SQLite: a permit is a row in `history_permit` inside the transaction.
- history_event.occurred_at gets an index (the back-dating check reads its maximum).
- outbox_message.complaint_id: the case a message is about (nullable, filled from `related`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004h"
down_revision: str | None = "0004c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOLERANCE_MINUTES = 5  # portal.history.BACKDATE_TOLERANCE

# True when the current user may use a permit: the owner of history_event (or a superuser).
PG_IS_OWNER = (
    "pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE')"
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.add_column(sa.Column("complaint_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_outbox_message_complaint_id", ["complaint_id"], unique=False)
    digits_only = (
        "related_id ~ '^[0-9]{1,9}$'"
        if _postgresql()
        else "related_id <> '' AND related_id NOT GLOB '*[^0-9]*' AND length(related_id) <= 9"
    )
    op.execute(
        "UPDATE outbox_message SET complaint_id = CAST(related_id AS INTEGER) "
        f"WHERE related_type = 'complaint' AND {digits_only}"
    )

    # Not batch mode: re-creating history_event on SQLite would drop its triggers.
    op.create_index("ix_history_event_occurred_at", "history_event", ["occurred_at"])
    if _postgresql():
        _postgresql_guards()
    else:
        _sqlite_guards()


def _postgresql_guards() -> None:
    op.execute(
        f"""
        CREATE FUNCTION history_event_refuse_delete() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE'
               AND current_setting('portal.allow_history_purge', true) = 'on'
               AND {PG_IS_OWNER} THEN
                RETURN NULL;
            END IF;
            RAISE EXCEPTION 'history is append-only: only the recorded retention purge may delete it'
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER history_event_no_delete BEFORE DELETE ON history_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION history_event_refuse_delete()"
    )
    op.execute(
        "CREATE TRIGGER history_event_no_truncate BEFORE TRUNCATE ON history_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION history_event_refuse_delete()"
    )
    op.execute(
        f"""
        CREATE FUNCTION history_event_refuse_backdating() RETURNS trigger AS $$
        DECLARE
            newest timestamp;
        BEGIN
            IF current_setting('portal.allow_history_import', true) = 'on' AND {PG_IS_OWNER} THEN
                RETURN NEW;
            END IF;
            EXECUTE format('SELECT max(occurred_at) FROM %I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME)
                INTO newest;
            IF NEW.occurred_at < newest - interval '{TOLERANCE_MINUTES} minutes' THEN
                RAISE EXCEPTION 'history is append-only: an event dated % is older than the newest (%)',
                    NEW.occurred_at, newest
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER history_event_no_backdating BEFORE INSERT ON history_event "
        "FOR EACH ROW EXECUTE FUNCTION history_event_refuse_backdating()"
    )


def _sqlite_guards() -> None:
    op.execute("CREATE TABLE history_permit (kind VARCHAR(16) NOT NULL PRIMARY KEY)")
    op.execute(
        "CREATE TRIGGER history_event_no_delete BEFORE DELETE ON history_event "
        "WHEN NOT EXISTS (SELECT 1 FROM history_permit WHERE kind = 'purge') "
        "BEGIN SELECT RAISE(ABORT, "
        "'history is append-only: only the recorded retention purge may delete it'); END"
    )
    op.execute(
        "CREATE TRIGGER history_event_no_backdating BEFORE INSERT ON history_event "
        "WHEN NOT EXISTS (SELECT 1 FROM history_permit WHERE kind = 'import') "
        "AND julianday(NEW.occurred_at) < "
        f"(SELECT julianday(max(occurred_at)) FROM history_event) - {TOLERANCE_MINUTES}.0 / 1440 "
        "BEGIN SELECT RAISE(ABORT, "
        "'history is append-only: an event cannot be dated before the newest one'); END"
    )


def downgrade() -> None:
    if _postgresql():
        op.execute("DROP TRIGGER IF EXISTS history_event_no_backdating ON history_event")
        op.execute("DROP TRIGGER IF EXISTS history_event_no_truncate ON history_event")
        op.execute("DROP TRIGGER IF EXISTS history_event_no_delete ON history_event")
        op.execute("DROP FUNCTION IF EXISTS history_event_refuse_backdating()")
        op.execute("DROP FUNCTION IF EXISTS history_event_refuse_delete()")
    else:
        op.execute("DROP TRIGGER IF EXISTS history_event_no_backdating")
        op.execute("DROP TRIGGER IF EXISTS history_event_no_delete")
        op.execute("DROP TABLE IF EXISTS history_permit")
    op.drop_index("ix_history_event_occurred_at", table_name="history_event")
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.drop_index("ix_outbox_message_complaint_id")
        batch_op.drop_column("complaint_id")
