"""attachments: files kept with an archive, immutable and never deleted

Check reports, referral papers and scans of paper archives, as bytea rows of the records
database (see `services.records.attachments` for why not large objects or a directory). The
content is stored uncompressed out of line (`STORAGE EXTERNAL`: PDF, JPEG and PNG are compressed
already), and a trigger refuses to delete a row or change its content, checksum or archive:
only the status (entered-in-error, with its reason) may change, even for the service's own role.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

IMMUTABLE = """
CREATE FUNCTION attachments_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'attachments are never deleted (mark them entered-in-error)';
    END IF;
    IF NEW.content IS DISTINCT FROM OLD.content OR NEW.sha256 IS DISTINCT FROM OLD.sha256
       OR NEW.size_bytes IS DISTINCT FROM OLD.size_bytes OR NEW.content_type IS DISTINCT FROM OLD.content_type
       OR NEW.added_by IS DISTINCT FROM OLD.added_by OR NEW.added_at IS DISTINCT FROM OLD.added_at THEN
        RAISE EXCEPTION 'an attachment''s file is immutable';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER attachments_immutable BEFORE UPDATE OR DELETE ON attachments
    FOR EACH ROW EXECUTE FUNCTION attachments_immutable();
"""


def upgrade() -> None:
    op.create_table(
        'attachments',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('archive_no', sa.String(length=17), nullable=False),
        sa.Column('record_id', sa.String(length=36), nullable=True),
        sa.Column('attachment_type', sa.String(length=20), nullable=False),
        sa.Column('content_type', sa.String(length=40), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=True),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('source', sa.Text(), nullable=True),
        sa.Column('document_date', sa.Date(), nullable=False),
        sa.Column('institution_code', sa.String(length=22), nullable=False),
        sa.Column('added_by', sa.String(length=80), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('status', sa.String(length=20), server_default=sa.text("'active'"), nullable=False),
        sa.Column('status_reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_attachments_record_id_records')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    )
    op.create_index(op.f('ix_attachments_archive_no'), 'attachments', ['archive_no'], unique=False)
    op.execute("ALTER TABLE attachments ALTER COLUMN content SET STORAGE EXTERNAL")
    op.execute(IMMUTABLE)


def downgrade() -> None:
    op.execute("DROP TRIGGER attachments_immutable ON attachments")
    op.execute("DROP FUNCTION attachments_immutable()")
    op.drop_index(op.f('ix_attachments_archive_no'), table_name='attachments')
    op.drop_table('attachments')
