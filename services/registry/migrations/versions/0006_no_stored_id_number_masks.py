"""no stored masked ID numbers; the masks kept in history show the last four characters only

`archives.id_number_masked` held every ID number's first six and last four characters in clear
(`110105********0184`): with the birth date beside it, that is the whole number, in every dump
and backup. The column goes; readers get the mask derived from the ciphertext. The masks that
history keeps (the `id_number` of `archive_revisions.changes`, `id_number_masked` in the merge
journal's `snapshot`) are rewritten to the last four characters only (`**************0184`),
which needs no key: they are the last four of the old mask. A mask of another document type kept
its last two, which stay the only ones shown.

Downgrade brings the column back empty: without the keys it cannot be filled again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 14:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The new form of an old mask `m` (a JSON string): stars but for its last four characters.
_NEW_FORM = ("to_jsonb(CASE WHEN length({m}) <= 4 THEN repeat('*', length({m})) "
             "ELSE repeat('*', length({m}) - 4) || right({m}, 4) END)")
_ELEMENT = "e #>> '{}'"


def upgrade() -> None:
    new_element = _NEW_FORM.format(m=_ELEMENT)
    op.execute(f"""
        UPDATE archive_revisions
           SET changes = jsonb_set(changes, '{{id_number}}', (
               SELECT jsonb_agg(CASE WHEN jsonb_typeof(e) = 'string' THEN {new_element} ELSE e END
                                ORDER BY position)
                 FROM jsonb_array_elements(changes -> 'id_number') WITH ORDINALITY AS t(e, position)))
         WHERE jsonb_typeof(changes -> 'id_number') = 'array' AND jsonb_array_length(changes -> 'id_number') > 0
    """)
    old = "snapshot ->> 'id_number_masked'"
    op.execute(f"""
        UPDATE merges SET snapshot = jsonb_set(snapshot, '{{id_number_masked}}', {_NEW_FORM.format(m=old)})
         WHERE jsonb_typeof(snapshot -> 'id_number_masked') = 'string'
    """)
    op.drop_column('archives', 'id_number_masked')


def downgrade() -> None:
    op.add_column('archives', sa.Column('id_number_masked', sa.String(length=32), nullable=True))
