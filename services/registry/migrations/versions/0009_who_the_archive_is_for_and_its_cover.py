"""who the archive is for, how it was built, and its cover

New columns of `archives`: 常住类型 and 民族 (`residence_type`, `ethnicity`, `ethnicity_name`), how
the archive was built and the resident's consent or refusal with its date (`archive_source`,
`consent`, `consent_date`), 建档日期 (`archive_date`), the cover's 责任医生 (`responsible_doctor`, a
gateway username), and, sealed like the phone, 现住址, 户籍地址, 工作单位, 联系人姓名 and 联系人电话
(`*_enc`); a newborn's guardian (`guardian_archive_no`, referring to an archive `ON UPDATE CASCADE`
like every reference since 0003; `guardian_id_type`, `guardian_id_number_enc`). The ID number was
nullable already (0001): an archive may now be created without one.

`archive_date` of the archives already kept is the day they were created, in 北京时间 (the suite's
archives are Chinese calendar days); it is then NOT NULL with `CURRENT_DATE` as its default. That
update rewrites every row once. The two indexes are built CONCURRENTLY, outside the migration's
transaction, like 0003's.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-22 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_SEALED = ('current_address_enc', 'registered_address_enc', 'employer_enc', 'contact_name_enc',
           'contact_phone_enc', 'guardian_id_number_enc')


def upgrade() -> None:
    op.add_column('archives', sa.Column('residence_type', sa.String(length=1), nullable=True))
    op.add_column('archives', sa.Column('ethnicity', sa.String(length=2), nullable=True))
    op.add_column('archives', sa.Column('ethnicity_name', sa.String(length=20), nullable=True))
    op.add_column('archives', sa.Column('archive_source', sa.String(length=1), nullable=True))
    op.add_column('archives', sa.Column('consent', sa.String(length=8), nullable=True))
    op.add_column('archives', sa.Column('consent_date', sa.Date(), nullable=True))
    op.add_column('archives', sa.Column('archive_date', sa.Date(), nullable=True))
    op.add_column('archives', sa.Column('responsible_doctor', sa.String(length=64), nullable=True))
    for column in _SEALED:
        op.add_column('archives', sa.Column(column, sa.LargeBinary(), nullable=True))
    op.add_column('archives', sa.Column('guardian_archive_no', sa.String(length=17), nullable=True))
    op.add_column('archives', sa.Column('guardian_id_type', sa.String(length=2), nullable=True))
    op.create_foreign_key(op.f('fk_archives_guardian_archive_no_archives'), 'archives', 'archives',
                          ['guardian_archive_no'], ['archive_no'], onupdate='CASCADE')
    op.execute("UPDATE archives SET archive_date = (created_at AT TIME ZONE 'Asia/Shanghai')::date")
    op.alter_column('archives', 'archive_date', nullable=False, server_default=sa.text('CURRENT_DATE'))
    with op.get_context().autocommit_block():
        op.create_index(op.f('ix_archives_guardian_archive_no'), 'archives', ['guardian_archive_no'], unique=False,
                        postgresql_concurrently=True, if_not_exists=True)
        op.create_index('ix_archives_residence_type_archive_no', 'archives', ['residence_type', 'archive_no'],
                        unique=False, postgresql_concurrently=True, if_not_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index('ix_archives_residence_type_archive_no', table_name='archives', postgresql_concurrently=True,
                      if_exists=True)
        op.drop_index(op.f('ix_archives_guardian_archive_no'), table_name='archives', postgresql_concurrently=True,
                      if_exists=True)
    op.drop_constraint(op.f('fk_archives_guardian_archive_no_archives'), 'archives', type_='foreignkey')
    for column in ('guardian_id_type', 'guardian_archive_no', *reversed(_SEALED), 'responsible_doctor',
                   'archive_date', 'consent_date', 'consent', 'archive_source', 'ethnicity_name', 'ethnicity',
                   'residence_type'):
        op.drop_column('archives', column)
