"""the audit trail appended in one statement: audit_append() and hash scheme 2

`audit_append(...)` locks the head, numbers the entry, stamps its time, links it with sha256
(`"<prev_hash>:<seq>:<at in µs since 1970>:<digest of the entry's fields>"`, the digest computed by
the gateway), inserts it and moves the head: the gateway appends in one round trip and the head
lock is held for the server's work and the commit only. Entries written before keep scheme 1
(see services/gateway/audit.py), so the chain they form still verifies.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 20:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant default fills the existing rows without an UPDATE (the append-only trigger
    # would refuse one); new entries name their scheme explicitly.
    op.add_column('audit_entries', sa.Column('scheme', sa.SmallInteger(), server_default=sa.text('1'),
                                             nullable=False))
    op.alter_column('audit_entries', 'scheme', server_default=None)
    op.execute("""
        CREATE FUNCTION audit_append(
            p_request_id text, p_actor text, p_actor_kind text, p_institution_code text, p_role text,
            p_action text, p_archive_no text, p_target text, p_reason text, p_out_of_scope boolean,
            p_outcome text, p_status integer, p_digest text)
        RETURNS TABLE (entry_seq bigint, entry_at timestamptz, entry_hash text)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_seq bigint;
            v_prev text;
            v_at timestamptz;
            v_hash text;
        BEGIN
            SELECT h.seq + 1, h.hash INTO v_seq, v_prev FROM audit_head h WHERE h.id = 1 FOR UPDATE;
            v_at := clock_timestamp();  -- after the lock: times follow the numbering
            v_hash := encode(sha256(convert_to(
                v_prev || ':' || v_seq || ':' || (extract(epoch FROM v_at) * 1000000)::bigint || ':' || p_digest,
                'UTF8')), 'hex');
            INSERT INTO audit_entries (seq, at, request_id, actor, actor_kind, institution_code, role, action,
                                       archive_no, target, reason, out_of_scope, outcome, status, prev_hash,
                                       hash, scheme)
            VALUES (v_seq, v_at, p_request_id, p_actor, p_actor_kind, p_institution_code, p_role, p_action,
                    p_archive_no, p_target, p_reason, p_out_of_scope, p_outcome, p_status, v_prev, v_hash, 2);
            UPDATE audit_head SET seq = v_seq, hash = v_hash WHERE id = 1;
            RETURN QUERY SELECT v_seq, v_at, v_hash;
        END $$
    """)


def downgrade() -> None:
    op.execute("DROP FUNCTION audit_append(text, text, text, text, text, text, text, text, text, boolean, "
               "text, integer, text)")
    op.drop_column('audit_entries', 'scheme')
