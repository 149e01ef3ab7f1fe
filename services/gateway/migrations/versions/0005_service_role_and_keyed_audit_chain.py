"""the gateway's own database role, and the audit trail keyed with HMAC (scheme 3)

The gateway's processes connect as `<database>_app` (e.g. `ehr_gateway_app`), which owns nothing
and runs no DDL: it reads and writes accounts, API keys and grants (SELECT, INSERT, UPDATE; the
tables later migrations create get SELECT, INSERT, UPDATE, DELETE through the owner's default
privileges), but on the audit trail it may only SELECT and call the two functions below. It
cannot update, delete or truncate an entry, move the head, or switch the append-only trigger
off (that takes the table's owner).

The gateway now computes each link itself, as HMAC-SHA256 under EHR_AUDIT_KEY, a key the
database never sees (see services/gateway/audit.py): `audit_reserve()` locks the head and
answers the next number, the previous hash and the entry's time; `audit_append(...)` inserts the
entry with the gateway's hash, checks it is the next one, and moves the head. Both are SECURITY
DEFINER functions of the owner with a fixed search_path, executable by the gateway's role only.
The head lock now lasts until the gateway commits, so the role's idle transactions end after
10 s: a gateway that stalls mid-append cannot hold the trail for longer. Entries written before
keep their scheme (1 or 2) and verify as such.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 14:00:00
"""
from alembic import op

from shared.db import drop_service_role_sql, service_role_sql


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_FIELDS = """p_request_id text, p_actor text, p_actor_kind text, p_institution_code text, p_role text,
            p_action text, p_archive_no text, p_target text, p_reason text, p_out_of_scope boolean,
            p_outcome text, p_status integer"""
_V2_SIGNATURE = ("text, text, text, text, text, text, text, text, text, boolean, text, integer, text")


def upgrade() -> None:
    op.execute(f"DROP FUNCTION audit_append({_V2_SIGNATURE})")
    op.execute("""
        CREATE FUNCTION audit_reserve() RETURNS TABLE (next_seq bigint, prev_hash text, entry_at timestamptz)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE
            v_seq bigint;
            v_prev text;
        BEGIN
            SELECT h.seq + 1, h.hash INTO v_seq, v_prev FROM audit_head h WHERE h.id = 1 FOR UPDATE;
            -- after the lock: times follow the numbering
            RETURN QUERY SELECT v_seq, v_prev, clock_timestamp();
        END $$
    """)
    op.execute(f"""
        CREATE FUNCTION audit_append(p_seq bigint, p_at timestamptz, p_hash text, {_FIELDS})
        RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE
            v_seq bigint;
            v_prev text;
            v_last_at timestamptz;
        BEGIN
            SELECT h.seq, h.hash INTO v_seq, v_prev FROM audit_head h WHERE h.id = 1 FOR UPDATE;
            IF p_seq IS DISTINCT FROM v_seq + 1 THEN
                RAISE EXCEPTION 'audit entry % is not the next one (the head is %)', p_seq, v_seq;
            END IF;
            SELECT e.at INTO v_last_at FROM audit_entries e WHERE e.seq = v_seq;
            IF p_at IS NULL OR p_at > clock_timestamp() OR p_at < v_last_at THEN
                RAISE EXCEPTION 'audit entry % has a time out of order', p_seq;
            END IF;
            IF p_hash IS NULL OR p_hash !~ '^[0-9a-f]{{64}}$' THEN
                RAISE EXCEPTION 'audit entry % has no valid hash', p_seq;
            END IF;
            INSERT INTO audit_entries (seq, at, request_id, actor, actor_kind, institution_code, role, action,
                                       archive_no, target, reason, out_of_scope, outcome, status, prev_hash,
                                       hash, scheme)
            VALUES (p_seq, p_at, p_request_id, p_actor, p_actor_kind, p_institution_code, p_role, p_action,
                    p_archive_no, p_target, p_reason, p_out_of_scope, p_outcome, p_status, v_prev, p_hash, 3);
            UPDATE audit_head SET seq = p_seq, hash = p_hash WHERE id = 1;
        END $$
    """)
    op.execute(service_role_sql("SELECT, INSERT, UPDATE, DELETE"))
    op.execute("""
        DO $$
        DECLARE
            app text := current_database() || '_app';
        BEGIN
            EXECUTE format('REVOKE DELETE ON users, api_keys, access_grants FROM %I', app);
            EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON audit_entries, audit_head FROM %I', app);
            REVOKE ALL ON FUNCTION audit_reserve() FROM PUBLIC;
            EXECUTE format('REVOKE ALL ON FUNCTION audit_append(bigint, timestamptz, text, text, text, text, '
                           'text, text, text, text, text, text, boolean, text, integer) FROM PUBLIC');
            EXECUTE format('GRANT EXECUTE ON FUNCTION audit_reserve() TO %I', app);
            EXECUTE format('GRANT EXECUTE ON FUNCTION audit_append(bigint, timestamptz, text, text, text, text, '
                           'text, text, text, text, text, text, boolean, text, integer) TO %I', app);
            EXECUTE format('ALTER ROLE %I IN DATABASE %I SET idle_in_transaction_session_timeout = %L',
                           app, current_database(), '10s');
        END $$
    """)


def downgrade() -> None:
    op.execute(drop_service_role_sql())
    op.execute("DROP FUNCTION audit_append(bigint, timestamptz, text, text, text, text, text, text, text, text, "
               "text, text, boolean, text, integer)")
    op.execute("DROP FUNCTION audit_reserve()")
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
            v_at := clock_timestamp();
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
