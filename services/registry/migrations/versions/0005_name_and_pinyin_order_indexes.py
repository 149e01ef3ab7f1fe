"""name and pinyin searches page through their own indexes

`ix_archives_name_order` and `ix_archives_name_pinyin_order`: btree indexes of (column COLLATE
"C", archive_no). They match a name or pinyin prefix and give a search its page order, so the
first page of the commonest surname reads a page's worth of entries instead of every match.
They replace the varchar_pattern_ops indexes of 0002, which matched the prefix but not the
order. Built CONCURRENTLY, outside the migration's transaction, like 0002's.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 21:30:00
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute('CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_archives_name_order '
                   'ON archives ((name COLLATE "C"), archive_no)')
        op.execute('CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_archives_name_pinyin_order '
                   'ON archives ((name_pinyin COLLATE "C"), archive_no)')
        op.drop_index('ix_archives_name_pattern', table_name='archives', postgresql_concurrently=True,
                      if_exists=True)
        op.drop_index('ix_archives_name_pinyin_pattern', table_name='archives', postgresql_concurrently=True,
                      if_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index('ix_archives_name_pattern', 'archives', ['name'], unique=False,
                        postgresql_ops={'name': 'varchar_pattern_ops'},
                        postgresql_concurrently=True, if_not_exists=True)
        op.create_index('ix_archives_name_pinyin_pattern', 'archives', ['name_pinyin'], unique=False,
                        postgresql_ops={'name_pinyin': 'varchar_pattern_ops'},
                        postgresql_concurrently=True, if_not_exists=True)
        op.drop_index('ix_archives_name_pinyin_order', table_name='archives', postgresql_concurrently=True)
        op.drop_index('ix_archives_name_order', table_name='archives', postgresql_concurrently=True)
