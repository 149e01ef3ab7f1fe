"""the 居民健康档案信息卡's issue record

New table `card_issues`: each issue and reissue of an archive's card (who, when, why, and the
archive number printed on it), referring to the archive `ON UPDATE CASCADE` like every table
since 0003, with that column indexed. A new, empty table: nothing to build concurrently.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-21 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('card_issues',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('archive_no', sa.String(length=17), nullable=False),
    sa.Column('issue_no', sa.Integer(), nullable=False),
    sa.Column('printed_archive_no', sa.String(length=17), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('issued_by_institution', sa.String(length=22), nullable=True),
    sa.Column('issued_by_role', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['archive_no'], ['archives.archive_no'], name=op.f('fk_card_issues_archive_no_archives'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_issues')),
    sa.UniqueConstraint('archive_no', 'issue_no', name=op.f('uq_card_issues_archive_no_issue_no'))
    )
    op.create_index(op.f('ix_card_issues_archive_no'), 'card_issues', ['archive_no'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_card_issues_archive_no'), table_name='card_issues')
    op.drop_table('card_issues')
