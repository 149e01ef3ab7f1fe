"""accounts, api keys, access grants and the audit trail

The audit trail is append-only: its head row is seeded here, and a trigger refuses UPDATE and
DELETE on audit_entries (the hash chain shows it if someone gets past the trigger anyway).

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 18:27:55.134946
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_grants',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('archive_no', sa.String(length=17), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('institution_code', sa.String(length=22), nullable=True),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_grants'))
    )
    op.create_index('ix_access_grants_actor_archive_no', 'access_grants', ['actor', 'archive_no', 'expires_at'], unique=False)
    op.create_table('api_keys',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('key_digest', sa.String(length=64), nullable=False),
    sa.Column('institution_code', sa.String(length=22), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_digest', name=op.f('uq_api_keys_key_digest'))
    )
    op.create_index('uq_api_keys_live_name', 'api_keys', ['name'], unique=True, postgresql_where=sa.text('revoked_at IS NULL'))
    op.create_table('audit_entries',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('institution_code', sa.String(length=22), nullable=True),
    sa.Column('role', sa.String(length=32), nullable=True),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('archive_no', sa.String(length=17), nullable=True),
    sa.Column('target', sa.String(length=80), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('out_of_scope', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('status', sa.SmallInteger(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_entries'))
    )
    op.create_index('ix_audit_entries_actor', 'audit_entries', ['actor', 'seq'], unique=False)
    op.create_index('ix_audit_entries_archive_no', 'audit_entries', ['archive_no', 'seq'], unique=False)
    op.create_table('audit_head',
    sa.Column('id', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64))")
    op.execute("""
        CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit trail is append-only (% refused)', TG_OP;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_entries
        FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()
    """)
    op.create_table('users',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('institution_code', sa.String(length=22), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_sign_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )


def downgrade() -> None:
    op.drop_table('users')
    op.drop_table('audit_head')
    op.execute("DROP TRIGGER audit_entries_append_only ON audit_entries")
    op.execute("DROP FUNCTION audit_entries_append_only()")
    op.drop_index('ix_audit_entries_archive_no', table_name='audit_entries')
    op.drop_index('ix_audit_entries_actor', table_name='audit_entries')
    op.drop_table('audit_entries')
    op.drop_index('uq_api_keys_live_name', table_name='api_keys', postgresql_where=sa.text('revoked_at IS NULL'))
    op.drop_table('api_keys')
    op.drop_index('ix_access_grants_actor_archive_no', table_name='access_grants')
    op.drop_table('access_grants')
