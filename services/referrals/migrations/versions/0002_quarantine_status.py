"""the operators' quarantine: status, when and by whom resolved

A quarantined answer or event is `held` until an operator replays it (a hospital's answer, as it
was or corrected, published again to `ehr.referral-answers`) or discards it with a note; the
entry is kept either way. Rows quarantined before this revision are `held`.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-08 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('quarantined_messages', sa.Column('status', sa.String(length=20), server_default=sa.text("'held'"),
                                                    nullable=False))
    op.add_column('quarantined_messages', sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('quarantined_messages', sa.Column('resolved_by', sa.String(length=80), nullable=True))


def downgrade() -> None:
    op.drop_column('quarantined_messages', 'resolved_by')
    op.drop_column('quarantined_messages', 'resolved_at')
    op.drop_column('quarantined_messages', 'status')
