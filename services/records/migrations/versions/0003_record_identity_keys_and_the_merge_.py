"""record identity keys and the merge journal

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 18:25:41.641268
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('archive_merges',
    sa.Column('merge_id', sa.String(length=64), nullable=False),
    sa.Column('surviving_archive_no', sa.String(length=17), nullable=False),
    sa.Column('merged_archive_no', sa.String(length=17), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('merge_id', name=op.f('pk_archive_merges'))
    )
    op.create_table('record_moves',
    sa.Column('merge_id', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('from_archive_no', sa.String(length=17), nullable=False),
    sa.Column('to_archive_no', sa.String(length=17), nullable=False),
    sa.ForeignKeyConstraint(['merge_id'], ['archive_merges.merge_id'], name=op.f('fk_record_moves_merge_id_archive_merges')),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_record_moves_record_id_records')),
    sa.PrimaryKeyConstraint('merge_id', 'record_id', name=op.f('pk_record_moves'))
    )
    op.add_column('records', sa.Column('identity_key', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column('records', 'identity_key')
    op.drop_table('record_moves')
    op.drop_table('archive_merges')
