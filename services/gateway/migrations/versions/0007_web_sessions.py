"""sessions of the staff's web pages

`web_sessions` keeps one row per signed-in browser: the SHA-256 of its cookie (never the cookie),
the user, the user's token version when it began (revoking the user's tokens ends it), when it
was last used and when it ends regardless. The gateway's role `<database>_app` gets SELECT,
INSERT, UPDATE and DELETE on it through the owner's default privileges (migration 0005): a
session that ends is deleted; the audit trail keeps its sign-in and sign-out.

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-10 10:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_web_sessions_expires_at", table_name="web_sessions")
    op.drop_table("web_sessions")
