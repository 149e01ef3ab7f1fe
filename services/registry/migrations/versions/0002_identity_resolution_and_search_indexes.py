"""identity resolution and search indexes

Blocking of identity resolution (birth date, pinyin, phone) and prefix search on name and pinyin.
The pinyin index is rebuilt with `varchar_pattern_ops`, which serves equality as well as `LIKE
'prefix%'` in any collation. Indexes are built CONCURRENTLY, outside the migration's transaction,
so that a registry holding a million archives keeps accepting writes while they build.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 09:00:00
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index('ix_archives_birth_date', 'archives', ['birth_date'], unique=False,
                        postgresql_concurrently=True, if_not_exists=True)
        op.create_index('ix_archives_name_pattern', 'archives', ['name'], unique=False,
                        postgresql_ops={'name': 'varchar_pattern_ops'},
                        postgresql_concurrently=True, if_not_exists=True)
        op.create_index('ix_archives_name_pinyin_pattern', 'archives', ['name_pinyin'], unique=False,
                        postgresql_ops={'name_pinyin': 'varchar_pattern_ops'},
                        postgresql_concurrently=True, if_not_exists=True)
        op.create_index('ix_archives_status_archive_no', 'archives', ['status', 'archive_no'], unique=False,
                        postgresql_concurrently=True, if_not_exists=True)
        op.drop_index('ix_archives_name_pinyin', table_name='archives', postgresql_concurrently=True,
                      if_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index('ix_archives_name_pinyin', 'archives', ['name_pinyin'], unique=False,
                        postgresql_concurrently=True, if_not_exists=True)
        op.drop_index('ix_archives_status_archive_no', table_name='archives', postgresql_concurrently=True)
        op.drop_index('ix_archives_name_pinyin_pattern', table_name='archives', postgresql_concurrently=True)
        op.drop_index('ix_archives_name_pattern', table_name='archives', postgresql_concurrently=True)
        op.drop_index('ix_archives_birth_date', table_name='archives', postgresql_concurrently=True)
