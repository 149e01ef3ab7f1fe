"""initial records schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 17:49:46.494422
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('exchange', sa.String(length=128), nullable=False),
    sa.Column('routing_key', sa.String(length=255), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('headers', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    op.create_table('pending_encounters',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('institution_code', sa.String(length=22), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('identity_key', sa.LargeBinary(), nullable=True),
    sa.Column('payload_enc', sa.LargeBinary(), nullable=False),
    sa.Column('candidates', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('status', sa.String(length=16), server_default=sa.text("'pending'"), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('filed_record_id', sa.String(length=36), nullable=True),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_encounters'))
    )
    op.create_index(op.f('ix_pending_encounters_identity_key'), 'pending_encounters', ['identity_key'], unique=False)
    op.create_index(op.f('ix_pending_encounters_status'), 'pending_encounters', ['status'], unique=False)
    op.create_table('processed_messages',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('source', 'message_id', name=op.f('pk_processed_messages'))
    )
    op.create_table('quarantine',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('queue', sa.String(length=255), nullable=False),
    sa.Column('routing_key', sa.String(length=255), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('body_enc', sa.LargeBinary(), nullable=False),
    sa.Column('headers', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('status', sa.String(length=16), server_default=sa.text("'held'"), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantine'))
    )
    op.create_index(op.f('ix_quarantine_reason'), 'quarantine', ['reason'], unique=False)
    op.create_index(op.f('ix_quarantine_status'), 'quarantine', ['status'], unique=False)
    op.create_table('records',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('archive_no', sa.String(length=17), nullable=False),
    sa.Column('record_type', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), server_default=sa.text("'active'"), nullable=False),
    sa.Column('institution_code', sa.String(length=22), nullable=False),
    sa.Column('source_system', sa.String(length=64), nullable=True),
    sa.Column('source_record_id', sa.String(length=128), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('current_revision', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('current_source_version', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_records')),
    sa.UniqueConstraint('institution_code', 'source_record_id', 'kind', name=op.f('uq_records_institution_code_source_record_id_kind'))
    )
    op.create_index('ix_records_archive_timeline', 'records', ['archive_no', 'occurred_at'], unique=False)
    op.create_table('record_revisions',
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('source_version', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('content', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_record_revisions_record_id_records')),
    sa.PrimaryKeyConstraint('record_id', 'revision', name=op.f('pk_record_revisions'))
    )


def downgrade() -> None:
    op.drop_table('record_revisions')
    op.drop_index('ix_records_archive_timeline', table_name='records')
    op.drop_table('records')
    op.drop_index(op.f('ix_quarantine_status'), table_name='quarantine')
    op.drop_index(op.f('ix_quarantine_reason'), table_name='quarantine')
    op.drop_table('quarantine')
    op.drop_table('processed_messages')
    op.drop_index(op.f('ix_pending_encounters_status'), table_name='pending_encounters')
    op.drop_index(op.f('ix_pending_encounters_identity_key'), table_name='pending_encounters')
    op.drop_table('pending_encounters')
    op.drop_table('outbox')
