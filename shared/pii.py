"""Protection of personal identifiers at rest: authenticated encryption plus a keyed blind index.

ID numbers and phone numbers are stored as AES-256-GCM ciphertext, so a copy of the database
reveals nothing, and next to it as an HMAC-SHA256 "blind index", so that exact lookup stays an
index scan. Each ciphertext is bound to where it is stored: the associated data of its seal is
its format version, its key id and `"<table>.<column>:<row key>"`, so a ciphertext copied to
another row or another column does not open there (`DecryptionFailed`). The row key is what
identifies the row before it is inserted (an archive's number, a natural key, or an id drawn
from the table's sequence); each service's `reencrypt` module names it per column.

    >>> box = PiiBox(key, index_key)
    >>> token = box.encrypt("11010519491231002X", "archives.id_number_enc", "11010500300100001")
    >>> box.decrypt(token, "archives.id_number_enc", "11010500300100001")
    '11010519491231002X'
    >>> box.decrypt(token, "archives.id_number_enc", "11010500300100002")   # another row
    DecryptionFailed
    >>> box.blind_index("id:01", "11010519491231002X")  # 32 bytes, stable for one key

A ciphertext is `0x02 | key id (4) | nonce (12) | sealed`. The key id lets the key be rotated:
new writes use the current key, reads take the key whose id matches (current or old). Tokens of
the first format (`key id | nonce | sealed`, associated data the key id alone, bound to nothing)
still open, wherever they are; `ehr keys reencrypt` rewrites them in the current format. The
blind index key cannot change without recomputing every index.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.identity import identity_namespace

_NONCE_BYTES = 12
_KEY_ID_BYTES = 4
BOUND = b"\x02"  # the format version of ciphertexts bound to their table, column and row


class DecryptionFailed(RuntimeError):
    """Ciphertext was altered, moved from another row or column, or was written with a key this
    process does not have."""


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"ehr-pii-key-id" + key).digest()[:_KEY_ID_BYTES]


def blind_index(index_key: bytes, namespace: str, value: str) -> bytes:
    """Keyed, deterministic digest of `value` within `namespace` (e.g. "id:01", "phone")."""
    return hmac.new(index_key, f"{namespace}\x00{value}".encode(), hashlib.sha256).digest()


def _bound_to(prefix: bytes, column: str, row_key: str) -> bytes:
    """The associated data of a bound ciphertext: version and key id, then where it lives."""
    if not column or not row_key or ":" in column:
        raise ValueError("a ciphertext is bound to a 'table.column' and a non-empty row key")
    return prefix + f"{column}:{row_key}".encode()


class PiiBox:
    """Seals and opens one service's personal data; `column` is "table.column" (a JSON field of
    a column adds ".field"), `row_key` the row's key as text."""

    def __init__(self, key: bytes, index_key: bytes, old_keys: tuple[bytes, ...] = ()) -> None:
        self._current_id = _key_id(key)
        self._current = AESGCM(key)
        self._by_id = {_key_id(k): AESGCM(k) for k in (*old_keys, key)}
        self._index_key = index_key

    @property
    def current_prefix(self) -> bytes:
        """What every ciphertext the current key writes starts with (format version, key id)."""
        return BOUND + self._current_id

    def encrypt_bytes(self, data: bytes, column: str, row_key: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        prefix = self.current_prefix
        return prefix + nonce + self._current.encrypt(nonce, data, _bound_to(prefix, column, row_key))

    def decrypt_bytes(self, token: bytes, column: str, row_key: str) -> bytes:
        token = bytes(token)
        tried = False
        if token[:1] == BOUND:
            aead = self._by_id.get(token[1:1 + _KEY_ID_BYTES])
            if aead is not None:
                tried = True
                prefix, rest = token[:1 + _KEY_ID_BYTES], token[1 + _KEY_ID_BYTES:]
                try:
                    return aead.decrypt(rest[:_NONCE_BYTES], rest[_NONCE_BYTES:], _bound_to(prefix, column, row_key))
                except InvalidTag:
                    pass
        # The first format, unbound (a key id may also begin with the version byte).
        aead = self._by_id.get(token[:_KEY_ID_BYTES])
        if aead is not None:
            tried = True
            key_id, rest = token[:_KEY_ID_BYTES], token[_KEY_ID_BYTES:]
            try:
                return aead.decrypt(rest[:_NONCE_BYTES], rest[_NONCE_BYTES:], key_id)
            except InvalidTag:
                pass
        if not tried:
            raise DecryptionFailed("no key with this key id is configured")
        raise DecryptionFailed("ciphertext failed authentication here (altered, or from another row or column)")

    def encrypt(self, plaintext: str, column: str, row_key: str) -> bytes:
        return self.encrypt_bytes(plaintext.encode(), column, row_key)

    def decrypt(self, token: bytes, column: str, row_key: str) -> str:
        return self.decrypt_bytes(token, column, row_key).decode()

    def needs_reencryption(self, token: bytes) -> bool:
        """True when `token` was written with an old key or in the unbound first format."""
        return bytes(token[:1 + _KEY_ID_BYTES]) != self.current_prefix

    def blind_index(self, namespace: str, value: str) -> bytes:
        return blind_index(self._index_key, namespace, value)


def identity_key(box: PiiBox, id_type: str, id_number: str) -> bytes:
    """The blind index of an identity document, in the namespace of its type
    (`shared.identity.identity_namespace`: types 01 and 02 carry the same 公民身份号码 and share
    `id:01`): what the registry finds an archive's ID number by, what its events name a resident
    by (`identity_keys`, in hex) and what records keeps on a hospital record to find it again.

        identity_key(box, "01", "11010519491231002X")   # 32 bytes, namespace "id:01"
        identity_key(box, "02", "11010519491231002X")   # the same
    """
    return box.blind_index(identity_namespace(id_type), id_number)


def service_box(settings, service: str) -> PiiBox:
    """The `PiiBox` of `service` ("registry" or "records") with its keys from `settings`
    (`Settings.pii_keys`; ConfigError naming a missing one)."""
    key, old_keys, index_key = settings.pii_keys(service)
    return PiiBox(key, index_key, old_keys)
