"""sign-in throttle, lock-outs that end, and token versions (revocation)

`sign_in_attempts` counts sign-in attempts per client address and per username in a window,
shared by every gateway process. `users.locked_until` makes a lock-out end by itself; accounts
locked before this migration stay locked for 15 minutes from now (or until `ehr user unlock`).
`users.token_version` is carried by every token (`ver`): bumping it revokes the user's tokens.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sign_in_attempts',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_attempts'))
    )
    op.create_index('ix_sign_in_attempts_window_started_at', 'sign_in_attempts', ['window_started_at'],
                    unique=False)
    op.add_column('users', sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('token_version', sa.Integer(), server_default=sa.text('0'), nullable=False))
    # A lock-out used to last until an administrator lifted it; from now on it ends by itself.
    op.execute("UPDATE users SET locked_until = now() + interval '15 minutes' WHERE locked_at IS NOT NULL")


def downgrade() -> None:
    op.drop_column('users', 'token_version')
    op.drop_column('users', 'locked_until')
    op.drop_index('ix_sign_in_attempts_window_started_at', table_name='sign_in_attempts')
    op.drop_table('sign_in_attempts')
