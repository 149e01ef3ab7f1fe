"""the service's role may ask the schema's version (readiness)

`migration_version()`, a SECURITY DEFINER function of the owner, answers what `alembic_version`
holds, which the service's role `<database>_app` may still not read: `ehr health registry --ready`
and the service itself check with it, as the role, that the database is at the migration their
code expects (shared/transport/health.py).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-20 10:00:00
"""
from alembic import op

from shared.transport.health import DROP_MIGRATION_VERSION_SQL, MIGRATION_VERSION_SQL


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(MIGRATION_VERSION_SQL)


def downgrade() -> None:
    op.execute(DROP_MIGRATION_VERSION_SQL)
