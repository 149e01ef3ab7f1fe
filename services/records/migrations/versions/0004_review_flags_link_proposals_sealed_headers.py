"""review flags on filed records, link proposals on pending encounters, sealed quarantine headers

Records filed from a hospital outside the archive's county carry `review` until a clinician
clears it; pending encounters keep an operator's proposed archive and who linked and confirmed
them; quarantined messages' headers are sealed (`headers_enc`) from now on. Existing rows keep
their plaintext `headers` until `ehr keys reencrypt` seals them: sealing needs EHR_PII_KEY, which
a migration does not have.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('records', sa.Column('review', sa.String(length=40), nullable=True))
    op.add_column('records', sa.Column('reviewed_by', sa.String(length=80), nullable=True))
    op.add_column('records', sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f('ix_records_review'), 'records', ['review'], unique=False)
    op.add_column('quarantine', sa.Column('headers_enc', sa.LargeBinary(), nullable=True))
    op.add_column('pending_encounters', sa.Column('proposed_archive_no', sa.String(length=17), nullable=True))
    op.add_column('pending_encounters', sa.Column('proposed_by', sa.String(length=80), nullable=True))
    op.add_column('pending_encounters', sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('pending_encounters', sa.Column('linked_by', sa.String(length=80), nullable=True))
    op.add_column('pending_encounters', sa.Column('confirmed_by', sa.String(length=80), nullable=True))
    op.create_index(op.f('ix_pending_encounters_proposed_archive_no'), 'pending_encounters',
                    ['proposed_archive_no'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_pending_encounters_proposed_archive_no'), table_name='pending_encounters')
    for column in ('confirmed_by', 'linked_by', 'proposed_at', 'proposed_by', 'proposed_archive_no'):
        op.drop_column('pending_encounters', column)
    op.drop_column('quarantine', 'headers_enc')
    op.drop_index(op.f('ix_records_review'), table_name='records')
    for column in ('reviewed_at', 'reviewed_by', 'review'):
        op.drop_column('records', column)
