"""the records service's own least-privileged database role

Creates `<database>_app` (e.g. `ehr_records_app`), the role the records processes connect
as: it reads and writes the records service's rows (SELECT, INSERT, UPDATE, DELETE on every table and
the use of every sequence, including those later migrations create, through the owner's
default privileges), but owns nothing and runs no DDL. Migrations keep running as the owner.

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


def upgrade() -> None:
    op.execute(service_role_sql())


def downgrade() -> None:
    op.execute(drop_service_role_sql())
