"""revision reasons and record status reasons

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 18:19:41.592430
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('record_revisions', sa.Column('reason', sa.Text(), nullable=True))
    op.add_column('records', sa.Column('status_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('records', 'status_reason')
    op.drop_column('record_revisions', 'reason')
