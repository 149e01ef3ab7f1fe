"""常住人口 of a division, for the 建档率

New nullable column `divisions.population`: the permanent residents of a village (or of a
township or county, when known only there), from the reference data (`ehr import reference`,
an optional `population` column of divisions.csv). The 健康档案建档率 and 电子健康档案建档率 divide
by it; a division without it has no rate. Nullable, no default: nothing is rewritten.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-28 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('divisions', sa.Column('population', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('divisions', 'population')
