"""archive lifecycle: revisions, termination, transfers, aliases, the merge journal

New tables `archive_revisions`, `transfers`, `merges` and `archive_aliases`; on `archives` the
termination columns and `merged_into`. Every reference to an archive number is `ON UPDATE
CASCADE`, because a transfer to another village re-keys the archive's row, and each such
column is indexed so that the cascade finds its rows by index. The new columns are nullable
(no table rewrite); the index on `archives.merged_into` is built CONCURRENTLY, outside the
transaction, as 0002 did, so that a large registry keeps accepting writes meanwhile.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 18:31:13.536796
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('archive_revisions',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('archive_no', sa.String(length=17), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor_user', sa.String(length=64), nullable=False),
    sa.Column('actor_institution', sa.String(length=22), nullable=True),
    sa.Column('actor_role', sa.String(length=32), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('changes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['archive_no'], ['archives.archive_no'], name=op.f('fk_archive_revisions_archive_no_archives'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_revisions')),
    sa.UniqueConstraint('archive_no', 'revision', name=op.f('uq_archive_revisions_archive_no_revision'))
    )
    op.create_table('merges',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('surviving_archive_no', sa.String(length=17), nullable=False),
    sa.Column('merged_archive_no', sa.String(length=17), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('merged_by', sa.String(length=64), nullable=False),
    sa.Column('merged_by_institution', sa.String(length=22), nullable=True),
    sa.Column('merged_by_role', sa.String(length=32), nullable=True),
    sa.Column('merged_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('merged_id_number_index', sa.LargeBinary(), nullable=True),
    sa.Column('snapshot', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('unmerged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unmerged_by', sa.String(length=64), nullable=True),
    sa.Column('unmerge_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['merged_archive_no'], ['archives.archive_no'], name=op.f('fk_merges_merged_archive_no_archives'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['surviving_archive_no'], ['archives.archive_no'], name=op.f('fk_merges_surviving_archive_no_archives'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merges'))
    )
    op.create_index(op.f('ix_merges_merged_archive_no'), 'merges', ['merged_archive_no'], unique=False)
    op.create_index(op.f('ix_merges_surviving_archive_no'), 'merges', ['surviving_archive_no'], unique=False)
    op.create_index('uq_merges_standing_merged_id_number_index', 'merges', ['merged_id_number_index'], unique=True, postgresql_where=sa.text('unmerged_at IS NULL'))
    op.create_table('transfers',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('archive_no', sa.String(length=17), nullable=False),
    sa.Column('from_archive_no', sa.String(length=17), nullable=False),
    sa.Column('new_archive_no', sa.String(length=17), nullable=True),
    sa.Column('from_village', sa.String(length=12), nullable=False),
    sa.Column('from_institution', sa.String(length=22), nullable=False),
    sa.Column('to_village', sa.String(length=12), nullable=False),
    sa.Column('to_institution', sa.String(length=22), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_by_institution', sa.String(length=22), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_by_institution', sa.String(length=22), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['archive_no'], ['archives.archive_no'], name=op.f('fk_transfers_archive_no_archives'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['from_institution'], ['institutions.code'], name=op.f('fk_transfers_from_institution_institutions')),
    sa.ForeignKeyConstraint(['from_village'], ['divisions.code'], name=op.f('fk_transfers_from_village_divisions')),
    sa.ForeignKeyConstraint(['to_institution'], ['institutions.code'], name=op.f('fk_transfers_to_institution_institutions')),
    sa.ForeignKeyConstraint(['to_village'], ['divisions.code'], name=op.f('fk_transfers_to_village_divisions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers'))
    )
    op.create_index(op.f('ix_transfers_archive_no'), 'transfers', ['archive_no'], unique=False)
    op.create_index('ix_transfers_to_institution_status', 'transfers', ['to_institution', 'status'], unique=False)
    op.create_index('uq_transfers_open_archive_no', 'transfers', ['archive_no'], unique=True, postgresql_where=sa.text("status = 'requested'"))
    op.create_table('archive_aliases',
    sa.Column('old_archive_no', sa.String(length=17), nullable=False),
    sa.Column('archive_no', sa.String(length=17), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('merge_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['archive_no'], ['archives.archive_no'], name=op.f('fk_archive_aliases_archive_no_archives'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['merge_id'], ['merges.id'], name=op.f('fk_archive_aliases_merge_id_merges')),
    sa.PrimaryKeyConstraint('old_archive_no', name=op.f('pk_archive_aliases'))
    )
    op.create_index(op.f('ix_archive_aliases_archive_no'), 'archive_aliases', ['archive_no'], unique=False)
    op.add_column('archives', sa.Column('termination_reason', sa.String(length=32), nullable=True))
    op.add_column('archives', sa.Column('termination_date', sa.Date(), nullable=True))
    op.add_column('archives', sa.Column('termination_cause', sa.Text(), nullable=True))
    op.add_column('archives', sa.Column('termination_destination', sa.Text(), nullable=True))
    op.add_column('archives', sa.Column('termination_handover', sa.Text(), nullable=True))
    op.add_column('archives', sa.Column('termination_note', sa.Text(), nullable=True))
    op.add_column('archives', sa.Column('merged_into', sa.String(length=17), nullable=True))
    op.create_foreign_key(op.f('fk_archives_merged_into_archives'), 'archives', 'archives', ['merged_into'], ['archive_no'], onupdate='CASCADE')
    with op.get_context().autocommit_block():
        op.create_index(op.f('ix_archives_merged_into'), 'archives', ['merged_into'], unique=False,
                        postgresql_concurrently=True, if_not_exists=True)


def downgrade() -> None:
    op.drop_constraint(op.f('fk_archives_merged_into_archives'), 'archives', type_='foreignkey')
    op.drop_index(op.f('ix_archives_merged_into'), table_name='archives')
    op.drop_column('archives', 'merged_into')
    op.drop_column('archives', 'termination_note')
    op.drop_column('archives', 'termination_handover')
    op.drop_column('archives', 'termination_destination')
    op.drop_column('archives', 'termination_cause')
    op.drop_column('archives', 'termination_date')
    op.drop_column('archives', 'termination_reason')
    op.drop_index(op.f('ix_archive_aliases_archive_no'), table_name='archive_aliases')
    op.drop_table('archive_aliases')
    op.drop_index('uq_transfers_open_archive_no', table_name='transfers', postgresql_where=sa.text("status = 'requested'"))
    op.drop_index('ix_transfers_to_institution_status', table_name='transfers')
    op.drop_index(op.f('ix_transfers_archive_no'), table_name='transfers')
    op.drop_table('transfers')
    op.drop_index('uq_merges_standing_merged_id_number_index', table_name='merges', postgresql_where=sa.text('unmerged_at IS NULL'))
    op.drop_index(op.f('ix_merges_surviving_archive_no'), table_name='merges')
    op.drop_index(op.f('ix_merges_merged_archive_no'), table_name='merges')
    op.drop_table('merges')
    op.drop_table('archive_revisions')
