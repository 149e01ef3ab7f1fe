"""insurance settlements: pending messages of either kind, review details

Settlements from `ehr.insurance` are filed like hospital encounters (records of type
`insurance_settlement`, origin `insurance`), and wait in the same pending table when their
resident has no archive yet: `pending_encounters.message_kind` says which contract its sealed
payload is (`encounter` for every row before). A settlement whose insurance type the
个人基本信息表 does not list is flagged for review with what to look at: `records.review_details`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 06:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('pending_encounters', sa.Column('message_kind', sa.String(length=16),
                                                  server_default=sa.text("'encounter'"), nullable=False))
    op.add_column('records', sa.Column('review_details', postgresql.JSONB(none_as_null=True,
                                                                          astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column('records', 'review_details')
    op.drop_column('pending_encounters', 'message_kind')
