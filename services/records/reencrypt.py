"""The records service's ciphertexts, for `ehr keys reencrypt` after a rotation of
`EHR_RECORDS_PII_KEY` or to bind first-format ciphertexts to their rows (the walk is
`shared.reencryption`): the original bytes and headers of quarantined messages, bound to their id,
and the messages of pending encounters, bound to their hospital and message id; all sealed whole
because they carry names and identifiers. Headers quarantined before migration 0004 are in
plaintext until this seals them.

The same command seals the plaintext headers of messages quarantined before migration 0004
(sealing needs the key, which a migration does not have); until then they are read as they are.

    reencrypt(engine, pii, batch_size=500)       -> [ColumnReport("quarantine.body_enc", ...), ...,
                                                     ColumnReport("quarantine.headers (plaintext)", ...)]
    reencrypt(engine, pii, dry_run=True)         # counts only
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.pii import PiiBox
from shared.reencryption import ColumnReport, EncryptedColumn, reencrypt as walk

from services.records.models import PendingEncounter, QuarantinedMessage
from services.records.pending import pending_row_key
from services.records.quarantine import QUARANTINE, seal_headers


def _pending(row) -> str:
    return pending_row_key(row["institution_code"], row["message_id"])


COLUMNS = (
    EncryptedColumn(QuarantinedMessage.__table__, key="id", column="body_enc"),
    EncryptedColumn(QuarantinedMessage.__table__, key="id", column="headers_enc"),
    EncryptedColumn(PendingEncounter.__table__, key="id", column="payload_enc", row_key=_pending),
)


def reencrypt(engine: Engine, pii: PiiBox, batch_size: int = 500, dry_run: bool = False) -> list[ColumnReport]:
    """Re-encrypt (or with `dry_run` count) what old keys or the first format sealed in the
    records database, and seal
    the headers still in plaintext."""
    return [*walk(engine, pii, list(COLUMNS), batch_size, dry_run),
            seal_plaintext_headers(engine, pii, batch_size, dry_run)]


def _plaintext_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(QUARANTINE).where(QUARANTINE.c.headers.is_not(None)))


def seal_plaintext_headers(engine: Engine, pii: PiiBox, batch_size: int = 500, dry_run: bool = False) -> ColumnReport:
    """Move plaintext `headers` into `headers_enc`, in short batches that skip busy rows."""
    report = ColumnReport("quarantine.headers (plaintext)", stale=_plaintext_count(engine))
    while not dry_run and report.stale:
        with engine.begin() as conn:
            rows = conn.execute(sa.select(QUARANTINE.c.id, QUARANTINE.c.headers)
                                .where(QUARANTINE.c.headers.is_not(None)).order_by(QUARANTINE.c.id)
                                .limit(batch_size).with_for_update(skip_locked=True)).all()
            if not rows:
                break
            conn.execute(QUARANTINE.update().where(QUARANTINE.c.id == sa.bindparam("_id"))
                         .values(headers_enc=sa.bindparam("_sealed"), headers=sa.null()),  # SQL NULL, not JSON null
                         [{"_id": row.id, "_sealed": seal_headers(pii, row.headers, row.id)} for row in rows])
            report.rewritten += len(rows)
    report.remaining = _plaintext_count(engine)
    return report
