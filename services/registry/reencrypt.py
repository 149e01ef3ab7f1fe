"""The registry's ciphertexts, for `ehr keys reencrypt` after a rotation of `EHR_PII_KEY` or to
bind first-format ciphertexts to their rows (the walk is `shared.reencryption`):

    reencrypt(engine, pii, batch_size=500)       -> [ColumnReport("archives.id_number_enc", ...), ...]
    reencrypt(engine, pii, dry_run=True)         # counts only

ID and phone numbers on archives and the cover's personal data (addresses, employer, contact, a
guardian's ID number), bound to the archive's number; card numbers and MRNs
(`resident_identifiers`), bound to their unique kind, issuer and blind index; and the ID and
phone numbers a merge keeps in its journal's snapshot (base64 in JSONB), which an unmerge writes
back to the archive and which are therefore bound as the archive's own columns, to the number the
snapshot records.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from shared.pii import PiiBox
from shared.reencryption import ColumnReport, EncryptedColumn, reencrypt as walk

from services.registry.keys import (
    ID_NUMBER_SEALED_IN, IDENTIFIER_SEALED_IN, PHONE_SEALED_IN, SEALED_COLUMNS, identifier_row_key,
)
from services.registry.models import Archive, Merge, ResidentIdentifier


def _identifier(row) -> str:
    return identifier_row_key(row["kind"], row["issuer"], row["value_index"])


def _snapshot_archive(row) -> str:
    return row["snapshot"]["archive_no"]


COLUMNS = (
    *(EncryptedColumn(Archive.__table__, key="archive_no", column=column) for column in SEALED_COLUMNS),
    EncryptedColumn(ResidentIdentifier.__table__, key="id", column="value_enc", sealed_in=IDENTIFIER_SEALED_IN,
                    row_key=_identifier),
    EncryptedColumn(Merge.__table__, key="id", column="snapshot", json_field="id_number_enc",
                    sealed_in=ID_NUMBER_SEALED_IN, row_key=_snapshot_archive),
    EncryptedColumn(Merge.__table__, key="id", column="snapshot", json_field="phone_enc",
                    sealed_in=PHONE_SEALED_IN, row_key=_snapshot_archive),
)


def reencrypt(engine: Engine, pii: PiiBox, batch_size: int = 500, dry_run: bool = False) -> list[ColumnReport]:
    """Re-encrypt (or with `dry_run` count) what old keys or the first format sealed in the
    registry's database."""
    return walk(engine, pii, list(COLUMNS), batch_size, dry_run)
