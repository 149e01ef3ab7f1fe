"""The records service's ciphertexts, for `ehr keys reencrypt` after a rotation of
`EHR_RECORDS_PII_KEY` or to bind first-format ciphertexts to their rows (the walk is
`shared.reencryption`): the original bytes of quarantined messages, bound to their id, and the
messages of pending encounters, bound to their hospital and message id; both sealed whole
because they carry names and identifiers.

    reencrypt(engine, pii, batch_size=500)       -> [ColumnReport("quarantine.body_enc", ...), ...]
    reencrypt(engine, pii, dry_run=True)         # counts only
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from shared.pii import PiiBox
from shared.reencryption import ColumnReport, EncryptedColumn, reencrypt as walk

from services.records.filing import pending_row_key
from services.records.models import PendingEncounter, QuarantinedMessage


def _pending(row) -> str:
    return pending_row_key(row["institution_code"], row["message_id"])


COLUMNS = (
    EncryptedColumn(QuarantinedMessage.__table__, key="id", column="body_enc"),
    EncryptedColumn(PendingEncounter.__table__, key="id", column="payload_enc", row_key=_pending),
)


def reencrypt(engine: Engine, pii: PiiBox, batch_size: int = 500, dry_run: bool = False) -> list[ColumnReport]:
    """Re-encrypt (or with `dry_run` count) what old keys or the first format sealed in the
    records database."""
    return walk(engine, pii, list(COLUMNS), batch_size, dry_run)
