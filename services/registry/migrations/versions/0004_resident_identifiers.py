"""residents' other identifiers: health and insurance cards, hospitals' MRNs

New tables `resident_identifiers` (the value encrypted, with its blind index and masked form,
unique per kind, issuer and blind index, NULL issuers counting as equal, which PostgreSQL 15
states as `NULLS NOT DISTINCT`) and `identifier_conflicts` (a learned identifier that another
archive already held). Both refer to archives `ON UPDATE CASCADE`, like every table since 0003,
and index those columns so that a transfer's cascade finds its rows by index. New, empty tables:
nothing to build concurrently.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('resident_identifiers',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('archive_no', sa.String(length=17), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('issuer', sa.String(length=22), nullable=True),
    sa.Column('value_enc', sa.LargeBinary(), nullable=False),
    sa.Column('value_index', sa.LargeBinary(), nullable=False),
    sa.Column('value_masked', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=24), nullable=False),
    sa.Column('linked_by', sa.String(length=64), nullable=False),
    sa.Column('linked_by_institution', sa.String(length=22), nullable=True),
    sa.Column('linked_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['archive_no'], ['archives.archive_no'], name=op.f('fk_resident_identifiers_archive_no_archives'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_identifiers')),
    sa.UniqueConstraint('value_index', 'kind', 'issuer', name=op.f('uq_resident_identifiers_value_index_kind_issuer'), postgresql_nulls_not_distinct=True)
    )
    op.create_index(op.f('ix_resident_identifiers_archive_no'), 'resident_identifiers', ['archive_no'], unique=False)
    op.create_table('identifier_conflicts',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('issuer', sa.String(length=22), nullable=True),
    sa.Column('value_index', sa.LargeBinary(), nullable=False),
    sa.Column('value_masked', sa.String(length=64), nullable=False),
    sa.Column('held_by_archive_no', sa.String(length=17), nullable=False),
    sa.Column('claimed_archive_no', sa.String(length=17), nullable=False),
    sa.Column('source', sa.String(length=24), nullable=False),
    sa.Column('times_seen', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['claimed_archive_no'], ['archives.archive_no'], name=op.f('fk_identifier_conflicts_claimed_archive_no_archives'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['held_by_archive_no'], ['archives.archive_no'], name=op.f('fk_identifier_conflicts_held_by_archive_no_archives'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identifier_conflicts')),
    sa.UniqueConstraint('value_index', 'kind', 'issuer', 'claimed_archive_no', name='uq_identifier_conflicts_claim', postgresql_nulls_not_distinct=True)
    )
    op.create_index(op.f('ix_identifier_conflicts_claimed_archive_no'), 'identifier_conflicts', ['claimed_archive_no'], unique=False)
    op.create_index(op.f('ix_identifier_conflicts_held_by_archive_no'), 'identifier_conflicts', ['held_by_archive_no'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_identifier_conflicts_held_by_archive_no'), table_name='identifier_conflicts')
    op.drop_index(op.f('ix_identifier_conflicts_claimed_archive_no'), table_name='identifier_conflicts')
    op.drop_table('identifier_conflicts')
    op.drop_index(op.f('ix_resident_identifiers_archive_no'), table_name='resident_identifiers')
    op.drop_table('resident_identifiers')
