"""Protection of personal identifiers at rest: authenticated encryption plus a keyed blind index.

ID numbers and phone numbers are stored as AES-256-GCM ciphertext, so a copy of the database
reveals nothing, and next to it as an HMAC-SHA256 "blind index", so that exact lookup stays an
index scan. The ciphertext starts with a 4-byte key id, which lets `EHR_PII_KEY` be rotated:
new writes use the current key, reads try the key whose id matches (current or one of
`EHR_PII_OLD_KEYS`). The blind index key cannot change without recomputing every index.

    >>> box = PiiBox(key, index_key)
    >>> token = box.encrypt("11010519491231002X")
    >>> box.decrypt(token)
    '11010519491231002X'
    >>> box.blind_index("id:01", "11010519491231002X")  # 32 bytes, stable for one key
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nameko.extensions import DependencyProvider

_NONCE_BYTES = 12


class DecryptionFailed(RuntimeError):
    """Ciphertext was altered, or was written with a key this process does not have."""


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"ehr-pii-key-id" + key).digest()[:4]


def blind_index(index_key: bytes, namespace: str, value: str) -> bytes:
    """Keyed, deterministic digest of `value` within `namespace` (e.g. "id:01", "phone")."""
    return hmac.new(index_key, f"{namespace}\x00{value}".encode(), hashlib.sha256).digest()


class PiiBox:
    def __init__(self, key: bytes, index_key: bytes, old_keys: tuple[bytes, ...] = ()) -> None:
        self._current_id = _key_id(key)
        self._current = AESGCM(key)
        self._by_id = {_key_id(k): AESGCM(k) for k in (*old_keys, key)}
        self._index_key = index_key

    def encrypt_bytes(self, data: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return self._current_id + nonce + self._current.encrypt(nonce, data, self._current_id)

    def decrypt_bytes(self, token: bytes) -> bytes:
        token = bytes(token)
        key_id, nonce, sealed = token[:4], token[4:4 + _NONCE_BYTES], token[4 + _NONCE_BYTES:]
        aead = self._by_id.get(key_id)
        if aead is None:
            raise DecryptionFailed("no key with this key id is configured")
        try:
            return aead.decrypt(nonce, sealed, key_id)
        except InvalidTag as exc:
            raise DecryptionFailed("ciphertext failed authentication") from exc

    def encrypt(self, plaintext: str) -> bytes:
        return self.encrypt_bytes(plaintext.encode())

    def decrypt(self, token: bytes) -> str:
        return self.decrypt_bytes(token).decode()

    def needs_reencryption(self, token: bytes) -> bool:
        """True when `token` was written with an old key (used by key rotation)."""
        return bytes(token[:4]) != self._current_id

    def blind_index(self, namespace: str, value: str) -> bytes:
        return blind_index(self._index_key, namespace, value)


class Pii(DependencyProvider):
    """The process's `PiiBox` (encryption and blind-index keys from configuration)."""

    def setup(self) -> None:
        from shared.config import load_settings

        settings = load_settings()
        key, index_key = settings.require_keys()
        self.box = PiiBox(key, index_key, settings.pii_old_keys)

    def get_dependency(self, worker_ctx):
        return self.box
