"""no stored masked ID numbers; the masks kept in history show the last four characters only;
names in their normal form

`archives.id_number_masked` held every ID number's first six and last four characters in clear
(`110105********0184`): with the birth date beside it, that is the whole number, in every dump
and backup. The column goes; readers get the mask derived from the ciphertext. The masks that
history keeps (the `id_number` of `archive_revisions.changes`, `id_number_masked` in the merge
journal's `snapshot`) are rewritten to the last four characters only (`**************0184`),
which needs no key: they are the last four of the old mask. A mask of another document type kept
its last two, which stay the only ones shown.

Names stored before names were normalised are put in the normal form new ones get
(`shared.identity.normalise_name`: NFKC, format characters such as zero-width spaces and direction
marks removed, white space collapsed and trimmed), and their pinyin with them, so that an
invisible character in an old name cannot hide it from the duplicate check. The characters removed
are those Python's `unicodedata` puts in category Cf, as `normalise_name` does; a name that would
end up empty or too long for its column is left as it is.

Downgrade brings the column back empty: without the keys it cannot be filled again. Names stay
normalised.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 14:00:00
"""
import sys
import unicodedata

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




def _format_characters() -> str:
    """A regular-expression class of every character of Unicode category Cf, in ranges."""
    ranges, start, last = [], None, None
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)) == "Cf":
            if start is None or code != last + 1:
                if start is not None:
                    ranges.append((start, last))
                start = code
            last = code
    ranges.append((start, last))
    escape = "\\U{:08X}".format
    return "[" + "".join(escape(a) if a == b else f"{escape(a)}-{escape(b)}" for a, b in ranges) + "]"


def _normal(column: str) -> str:
    """SQL of `column` in the form `shared.identity.normalise_name` gives."""
    stripped = f"regexp_replace(normalize({column}, NFKC), '{_format_characters()}', '', 'g')"
    return f"btrim(regexp_replace({stripped}, '\\s+', ' ', 'g'))"


def _normalise_names() -> None:
    name, pinyin = _normal("name"), f"lower({_normal('name_pinyin')})"
    op.execute(f"""
        UPDATE archives SET name = {name}, name_pinyin = {pinyin}
         WHERE name IS DISTINCT FROM {name} AND length({name}) BETWEEN 1 AND 64 AND length({pinyin}) <= 200
    """)


def upgrade() -> None:
    _normalise_names()
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
