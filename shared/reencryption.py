"""Re-encrypting personal data after a rotation of a PII key, and into the current format: the
walk each service's encrypted columns share (`services/*/reencrypt.py` list them; `ehr keys
reencrypt` runs them).

    columns = [EncryptedColumn(archives, "archive_no", "id_number_enc"),
               EncryptedColumn(merges, "id", "snapshot", json_field="phone_enc",      # base64 in JSONB
                               sealed_in="archives.phone_enc", row_key=lambda row: row["snapshot"]["archive_no"])]
    reencrypt(engine, pii, columns, batch_size=500)
    -> [ColumnReport(column="archives.id_number_enc", stale=1200, rewritten=1200, failed=0, remaining=0), ...]
    reencrypt(engine, pii, columns, dry_run=True)     # counts only: `stale`, nothing written

Each ciphertext is bound to where it lives (`shared.pii`): `sealed_in` ("table.column", by default
the column's own) and its row key (`row_key` of the row, by default the walk's key). A ciphertext
starts with its format version and the id of the key that sealed it, so the rows still under an
old key or in the first, unbound format are found by SQL: `substr(token, 1, 5) <> <version and
current key id>`; they are rewritten bound, in the current format. Each column is
walked in the order of its key (keyset pagination), one short transaction per batch: the batch's
stale rows are selected `FOR UPDATE SKIP LOCKED`, decrypted (the box holds the old keys too) and
encrypted again with the current key. A row the suite holds locked at that moment is skipped and
taken by the next pass; passes repeat until one rewrites nothing, so the walk runs beside the
services without waiting on them or making them wait longer than one batch. Nothing else about a
row changes (blind indexes are keyed by `EHR_INDEX_KEY`, which is not rotated), so running it again,
or after an interruption, only does what is left. A token no configured key opens (`failed`) is
left as it is and counted; `remaining` is what is still under an old key at the end.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.pii import DecryptionFailed, PiiBox

MAX_PASSES = 5


@dataclass(frozen=True)
class EncryptedColumn:
    """A column of ciphertexts (`bytea`), or a base64 field of a JSONB column (`json_field`),
    walked in the order of the table's unique `key`; each ciphertext bound to `sealed_in` (this
    column when None) and to `row_key(row)` (the row's `key` when None; `row` maps the table's
    columns to their values)."""

    table: sa.Table
    key: str
    column: str
    json_field: str | None = None
    sealed_in: str | None = None
    row_key: Callable[[Any], str] | None = None

    @property
    def name(self) -> str:
        return ".".join(p for p in (self.table.name, self.column, self.json_field) if p)

    def bound_to(self, row) -> tuple[str, str]:
        """(table.column, row key) a row's ciphertext is bound to."""
        row_key = self.row_key(row) if self.row_key else str(row[self.key])
        return self.sealed_in or self.name, row_key

    def token(self) -> sa.ColumnElement:
        column = self.table.c[self.column]
        if self.json_field:
            return sa.func.decode(column[self.json_field].astext, "base64")
        return column

    def stale(self, current_prefix: bytes) -> sa.ColumnElement[bool]:
        """Rows whose token was sealed by another key than the current one, or in the first
        format (NULLs are not)."""
        return sa.func.substr(self.token(), 1, len(current_prefix)) != current_prefix

    def write(self) -> sa.Update:
        """UPDATE one row's token: parameters `_key`, `_token` (the new ciphertext)."""
        column = self.table.c[self.column]
        if self.json_field:
            path = sa.literal_column(f"'{{{self.json_field}}}'::text[]")
            value = sa.func.jsonb_set(column, path, sa.func.to_jsonb(sa.cast(sa.bindparam("_token"), sa.Text)))
        else:
            value = sa.bindparam("_token", type_=sa.LargeBinary)
        return self.table.update().where(self.table.c[self.key] == sa.bindparam("_key")).values({self.column: value})

    def encoded(self, token: bytes) -> bytes | str:
        return base64.b64encode(token).decode() if self.json_field else token


@dataclass
class ColumnReport:
    column: str
    stale: int = 0        # under an old key or in the first format when the walk began
    rewritten: int = 0    # encrypted again with the current key, bound
    failed: int = 0       # sealed by a key this process does not have: left as they are
    remaining: int = 0    # still under an old key or in the first format when the walk ended


def count_stale(engine: Engine, column: EncryptedColumn, prefix: bytes) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(column.table).where(column.stale(prefix)))


def _walk(engine: Engine, pii: PiiBox, column: EncryptedColumn, prefix: bytes, batch_size: int,
          report: ColumnReport) -> int:
    """One pass over the column; returns how many tokens it rewrote."""
    key = column.table.c[column.key]
    last, rewritten = None, 0
    while True:
        with engine.begin() as conn:
            stmt = (sa.select(column.table, column.token().label("_token")).where(column.stale(prefix))
                    .order_by(key).limit(batch_size).with_for_update(skip_locked=True, of=column.table))
            if last is not None:
                stmt = stmt.where(key > last)
            rows = conn.execute(stmt).all()
            if not rows:
                return rewritten
            updates = []
            for row in (r._mapping for r in rows):
                bound_to = column.bound_to(row)
                try:
                    plain = pii.decrypt_bytes(bytes(row["_token"]), *bound_to)
                except DecryptionFailed:
                    report.failed += 1
                    continue
                updates.append({"_key": row[column.key],
                                "_token": column.encoded(pii.encrypt_bytes(plain, *bound_to))})
            if updates:
                conn.execute(column.write(), updates)
            rewritten += len(updates)
            last = rows[-1]._mapping[column.key]


def reencrypt(engine: Engine, pii: PiiBox, columns: list[EncryptedColumn], batch_size: int = 500,
              dry_run: bool = False) -> list[ColumnReport]:
    """Re-encrypt what old keys sealed in `columns` with `pii`'s current key (see the module doc)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    prefix = pii.current_prefix
    reports = []
    for column in columns:
        report = ColumnReport(column.name, stale=count_stale(engine, column, prefix))
        if not dry_run and report.stale:
            for _ in range(MAX_PASSES):
                report.failed = 0  # counted again by each pass: the same unreadable tokens
                done = _walk(engine, pii, column, prefix, batch_size, report)
                report.rewritten += done
                if not done:
                    break
        report.remaining = count_stale(engine, column, prefix) if not dry_run else report.stale
        reports.append(report)
    return reports
