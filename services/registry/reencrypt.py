"""The registry's ciphertexts, for `ehr keys reencrypt` after a rotation of `EHR_PII_KEY` (the walk
is `shared.reencryption`):

    reencrypt(engine, pii, batch_size=500)       -> [ColumnReport("archives.id_number_enc", ...), ...]
    reencrypt(engine, pii, dry_run=True)         # counts only

ID and phone numbers on archives; card numbers and MRNs (`resident_identifiers`); and the ID and
phone numbers a merge keeps in its journal's snapshot (base64 in JSONB), which an unmerge writes
back to the archive and which must therefore open with the keys of the day too.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from shared.pii import PiiBox
from shared.reencryption import ColumnReport, EncryptedColumn, reencrypt as walk

from services.registry.models import Archive, Merge, ResidentIdentifier

COLUMNS = (
    EncryptedColumn(Archive.__table__, key="archive_no", column="id_number_enc"),
    EncryptedColumn(Archive.__table__, key="archive_no", column="phone_enc"),
    EncryptedColumn(ResidentIdentifier.__table__, key="id", column="value_enc"),
    EncryptedColumn(Merge.__table__, key="id", column="snapshot", json_field="id_number_enc"),
    EncryptedColumn(Merge.__table__, key="id", column="snapshot", json_field="phone_enc"),
)


def reencrypt(engine: Engine, pii: PiiBox, batch_size: int = 500, dry_run: bool = False) -> list[ColumnReport]:
    """Re-encrypt (or with `dry_run` count) what old keys sealed in the registry's database."""
    return walk(engine, pii, list(COLUMNS), batch_size, dry_run)
