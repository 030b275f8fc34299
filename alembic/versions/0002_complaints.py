"""complaints procedure

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 17:22:48.395485
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('complaint_draft',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('answers', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('complaint_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_draft_expires_at'), ['expires_at'], unique=False)

    op.create_table('complaint_status_count',
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('status')
    )
    op.create_table('complaint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=12), nullable=False),
    sa.Column('access_token_hash', sa.String(length=64), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('asked_for_formal', sa.Boolean(), nullable=False),
    sa.Column('about', sa.String(length=16), nullable=False),
    sa.Column('about_name', sa.String(length=200), nullable=False),
    sa.Column('about_user_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=100), nullable=False),
    sa.Column('what_happened', sa.Text(), nullable=False),
    sa.Column('happened_on', sa.Date(), nullable=True),
    sa.Column('done_so_far', sa.Text(), nullable=False),
    sa.Column('put_right', sa.Text(), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('parent_name', sa.String(length=200), nullable=False),
    sa.Column('parent_name_normalised', sa.String(length=200), nullable=False),
    sa.Column('parent_email', sa.String(length=320), nullable=False),
    sa.Column('parent_email_normalised', sa.String(length=320), nullable=False),
    sa.Column('parent_phone', sa.String(length=40), nullable=False),
    sa.Column('child_name', sa.String(length=200), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('triaged_at', sa.DateTime(), nullable=True),
    sa.Column('responded_on', sa.Date(), nullable=True),
    sa.Column('escalated_on', sa.Date(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('handler_user_id', sa.Integer(), nullable=True),
    sa.Column('lead_complaint_id', sa.Integer(), nullable=True),
    sa.Column('deadline_kind', sa.String(length=16), nullable=True),
    sa.Column('deadline_from', sa.Date(), nullable=True),
    sa.Column('deadline_school_days', sa.Integer(), nullable=True),
    sa.Column('deadline_extended_to', sa.Date(), nullable=True),
    sa.Column('next_deadline', sa.Date(), nullable=True),
    sa.Column('queue_date', sa.Date(), nullable=False),
    sa.Column('reminded_for', sa.Date(), nullable=True),
    sa.Column('is_late', sa.Boolean(), nullable=False),
    sa.Column('late_decision', sa.String(length=16), nullable=True),
    sa.Column('anonymous_decision', sa.String(length=16), nullable=True),
    sa.Column('decision_notes', sa.Text(), nullable=False),
    sa.Column('redirect_to', sa.String(length=200), nullable=False),
    sa.Column('redirect_reason', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('persistent_matter', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['about_user_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['handler_user_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['lead_complaint_id'], ['complaint.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('access_token_hash'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_handler_queue', ['handler_user_id', 'queue_date', 'id'], unique=False)
        batch_op.create_index('ix_complaint_lead', ['lead_complaint_id'], unique=False)
        batch_op.create_index('ix_complaint_parent_email', ['parent_email_normalised'], unique=False)
        batch_op.create_index('ix_complaint_parent_name', ['parent_name_normalised'], unique=False)
        batch_op.create_index('ix_complaint_queue', ['is_active', 'queue_date', 'id'], unique=False)
        batch_op.create_index('ix_complaint_status_queue', ['status', 'queue_date', 'id'], unique=False)

    op.create_table('complaint_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('author_type', sa.String(length=16), nullable=False),
    sa.Column('author_user_id', sa.Integer(), nullable=True),
    sa.Column('author_label', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('new_deadline', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_user_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('complaint_message', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_message_case', ['complaint_id', 'id'], unique=False)

    op.create_table('panel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('hearing_on', sa.Date(), nullable=True),
    sa.Column('member_1_id', sa.Integer(), nullable=True),
    sa.Column('member_2_id', sa.Integer(), nullable=True),
    sa.Column('member_3_id', sa.Integer(), nullable=True),
    sa.Column('papers', sa.Text(), nullable=False),
    sa.Column('hearing_notes', sa.Text(), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_1_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['member_2_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['member_3_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('complaint_id')
    )
    op.create_table('persistent_complainant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email_normalised', sa.String(length=320), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('marked_by_user_id', sa.Integer(), nullable=False),
    sa.Column('marked_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.ForeignKeyConstraint(['marked_by_user_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('persistent_complainant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_persistent_complainant_email_normalised'), ['email_normalised'], unique=False)

    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('draft_id', sa.String(length=64), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=100), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['complaint_message.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('storage_key')
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_draft_id'), ['draft_id'], unique=False)
    _full_text_search()


def _full_text_search() -> None:
    """Words of a case, searchable fast at 250,000 cases: FTS5 on SQLite, a GIN index on PostgreSQL."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_complaint_words ON complaint USING gin "
            "(to_tsvector('simple', parent_name || ' ' || what_happened))"
        )
        return
    op.execute(
        "CREATE VIRTUAL TABLE complaint_fts USING fts5("
        "parent_name, what_happened, content='complaint', content_rowid='id')"
    )
    op.execute(
        "CREATE TRIGGER complaint_fts_insert AFTER INSERT ON complaint BEGIN "
        "INSERT INTO complaint_fts(rowid, parent_name, what_happened) "
        "VALUES (new.id, new.parent_name, new.what_happened); END"
    )
    op.execute(
        "CREATE TRIGGER complaint_fts_delete AFTER DELETE ON complaint BEGIN "
        "INSERT INTO complaint_fts(complaint_fts, rowid, parent_name, what_happened) "
        "VALUES ('delete', old.id, old.parent_name, old.what_happened); END"
    )
    op.execute(
        "CREATE TRIGGER complaint_fts_update AFTER UPDATE OF parent_name, what_happened "
        "ON complaint BEGIN "
        "INSERT INTO complaint_fts(complaint_fts, rowid, parent_name, what_happened) "
        "VALUES ('delete', old.id, old.parent_name, old.what_happened); "
        "INSERT INTO complaint_fts(rowid, parent_name, what_happened) "
        "VALUES (new.id, new.parent_name, new.what_happened); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_complaint_words")
    else:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS complaint_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS complaint_fts")
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_draft_id'))
        batch_op.drop_index(batch_op.f('ix_attachment_complaint_id'))

    op.drop_table('attachment')
    with op.batch_alter_table('persistent_complainant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_persistent_complainant_email_normalised'))

    op.drop_table('persistent_complainant')
    op.drop_table('panel')
    with op.batch_alter_table('complaint_message', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_message_case')

    op.drop_table('complaint_message')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_status_queue')
        batch_op.drop_index('ix_complaint_queue')
        batch_op.drop_index('ix_complaint_parent_name')
        batch_op.drop_index('ix_complaint_parent_email')
        batch_op.drop_index('ix_complaint_lead')
        batch_op.drop_index('ix_complaint_handler_queue')

    op.drop_table('complaint')
    op.drop_table('complaint_status_count')
    with op.batch_alter_table('complaint_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_draft_expires_at'))

    op.drop_table('complaint_draft')
