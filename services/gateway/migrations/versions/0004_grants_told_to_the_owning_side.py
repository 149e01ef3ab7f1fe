"""grants told to the archive's owners: the grantee's role, where the archive lay, an outbox

`access_grants` keeps the grantee's role and the archive's village and managing institution at the
time of the grant (the owning side's supervisors list them: `GET /api/v1/grants`), and the gateway
gets an outbox for the `access_granted` event it announces. Grants taken before this revision keep
NULL in the new columns (the gateway cannot know where their archive lay then) and are listed to
no one; they expire within `EHR_GRANT_LIFETIME`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 14:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('access_grants', sa.Column('role', sa.String(length=32), nullable=True))
    op.add_column('access_grants', sa.Column('archive_village_code', sa.String(length=12), nullable=True))
    op.add_column('access_grants', sa.Column('archive_institution_code', sa.String(length=22), nullable=True))
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


def downgrade() -> None:
    op.drop_table('outbox')
    op.drop_column('access_grants', 'archive_institution_code')
    op.drop_column('access_grants', 'archive_village_code')
    op.drop_column('access_grants', 'role')
