"""withdrawals: a row's action (submit | withdraw) and the document a withdrawal withdraws

A record entered in error withdraws its documents from the platform: the send queue gets a
`withdraw` row at the end of each of the record's sets (`DELETE /api/documents/{id}`, the set's
latest acknowledged version, named in `withdraws` when sent), and its versions never sent are
`cancelled` (a new state; `state` is free text, nothing to alter). Every row before this revision
is a `submit`: the column's default fills them at once (a constant default: no rewrite of the
table).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 02:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('documents', sa.Column('action', sa.String(length=16), server_default=sa.text("'submit'"),
                                         nullable=False))
    op.add_column('documents', sa.Column('withdraws', sa.String(length=100), nullable=True))


def downgrade() -> None:
    # The earlier schema knows neither: a withdrawal is forgotten, a cancelled version is kept as
    # rejected (settled, never sent on its own; not queued, which would send it).
    op.execute("DELETE FROM documents WHERE action = 'withdraw'")
    op.execute("""UPDATE documents SET state = 'rejected',
                  reasons = '[{"code": "entered_in_error", "message": "cancelled: its record was entered in error"}]'
                  WHERE state = 'cancelled'""")
    op.drop_column('documents', 'withdraws')
    op.drop_column('documents', 'action')
