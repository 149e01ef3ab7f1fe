"""initial registry schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 17:49:46.226854
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('archive_serials',
    sa.Column('village_code', sa.String(length=12), nullable=False),
    sa.Column('last_serial', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('village_code', name=op.f('pk_archive_serials'))
    )
    op.create_table('divisions',
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('parent_code', sa.String(length=12), nullable=True),
    sa.ForeignKeyConstraint(['parent_code'], ['divisions.code'], name=op.f('fk_divisions_parent_code_divisions')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_divisions'))
    )
    op.create_index(op.f('ix_divisions_parent_code'), 'divisions', ['parent_code'], unique=False)
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
    op.create_table('institutions',
    sa.Column('code', sa.String(length=22), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('division_code', sa.String(length=12), nullable=False),
    sa.Column('parent_code', sa.String(length=22), nullable=True),
    sa.ForeignKeyConstraint(['division_code'], ['divisions.code'], name=op.f('fk_institutions_division_code_divisions')),
    sa.ForeignKeyConstraint(['parent_code'], ['institutions.code'], name=op.f('fk_institutions_parent_code_institutions')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_institutions'))
    )
    op.create_index(op.f('ix_institutions_division_code'), 'institutions', ['division_code'], unique=False)
    op.create_table('archives',
    sa.Column('archive_no', sa.String(length=17), nullable=False),
    sa.Column('status', sa.String(length=16), server_default=sa.text("'active'"), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('name_pinyin', sa.String(length=200), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('id_type', sa.String(length=2), nullable=True),
    sa.Column('id_number_enc', sa.LargeBinary(), nullable=True),
    sa.Column('id_number_index', sa.LargeBinary(), nullable=True),
    sa.Column('id_number_masked', sa.String(length=32), nullable=True),
    sa.Column('phone_enc', sa.LargeBinary(), nullable=True),
    sa.Column('phone_index', sa.LargeBinary(), nullable=True),
    sa.Column('village_code', sa.String(length=12), nullable=False),
    sa.Column('institution_code', sa.String(length=22), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.ForeignKeyConstraint(['institution_code'], ['institutions.code'], name=op.f('fk_archives_institution_code_institutions')),
    sa.ForeignKeyConstraint(['village_code'], ['divisions.code'], name=op.f('fk_archives_village_code_divisions')),
    sa.PrimaryKeyConstraint('archive_no', name=op.f('pk_archives')),
    sa.UniqueConstraint('id_number_index', name=op.f('uq_archives_id_number_index'))
    )
    op.create_index(op.f('ix_archives_institution_code'), 'archives', ['institution_code'], unique=False)
    op.create_index('ix_archives_name_birth', 'archives', ['name', 'birth_date'], unique=False)
    op.create_index(op.f('ix_archives_name_pinyin'), 'archives', ['name_pinyin'], unique=False)
    op.create_index(op.f('ix_archives_phone_index'), 'archives', ['phone_index'], unique=False)
    op.create_index(op.f('ix_archives_village_code'), 'archives', ['village_code'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_archives_village_code'), table_name='archives')
    op.drop_index(op.f('ix_archives_phone_index'), table_name='archives')
    op.drop_index(op.f('ix_archives_name_pinyin'), table_name='archives')
    op.drop_index('ix_archives_name_birth', table_name='archives')
    op.drop_index(op.f('ix_archives_institution_code'), table_name='archives')
    op.drop_table('archives')
    op.drop_index(op.f('ix_institutions_division_code'), table_name='institutions')
    op.drop_table('institutions')
    op.drop_table('outbox')
    op.drop_index(op.f('ix_divisions_parent_code'), table_name='divisions')
    op.drop_table('divisions')
    op.drop_table('archive_serials')
