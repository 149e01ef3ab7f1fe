"""Ciphertexts of the first format (before ciphertexts were bound to their table, column and row),
written as that code did, to prove they still open and that re-encryption binds them."""

from __future__ import annotations

import hashlib
import os

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Engine

from shared.pii import PiiBox
from shared.reencryption import EncryptedColumn


def legacy_encrypt(key: bytes, data: bytes) -> bytes:
    """key id | nonce | sealed, with the key id alone as associated data."""
    key_id = hashlib.sha256(b"ehr-pii-key-id" + key).digest()[:4]
    nonce = os.urandom(12)
    return key_id + nonce + AESGCM(key).encrypt(nonce, data, key_id)


def downgrade(engine: Engine, box: PiiBox, key: bytes, columns: tuple[EncryptedColumn, ...]) -> int:
    """Rewrite every ciphertext of `columns` in the first format, under `key`; returns how many."""
    done = 0
    for column in columns:
        with engine.begin() as conn:
            rows = [r._mapping for r in conn.execute(
                sa.select(column.table, column.token().label("_token")).where(column.token().is_not(None)))]
            updates = [{"_key": row[column.key], "_token": column.encoded(legacy_encrypt(
                key, box.decrypt_bytes(bytes(row["_token"]), *column.bound_to(row))))} for row in rows]
            if updates:
                conn.execute(column.write(), updates)
            done += len(updates)
    return done
