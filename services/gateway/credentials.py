"""Secrets the gateway checks: passwords (argon2id), bearer tokens (HS256 JWT) and API keys.

    hash_password("correct horse battery")          -> "$argon2id$v=19$m=65536,t=3,p=4$..."
    issue_token(key, "doc01", lifetime=900)          -> "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ..."
    read_token(key, token)                           -> {"sub": "doc01", "iat": ..., "exp": ...}
    key, digest = new_api_key()                      -> ("ehrk_3q2...", "9f86d0...")  (only the digest is stored)

A token names the user only: role, institution and lock-out are read from the gateway database
on every request, so `ehr user role` and a lock-out take effect at once. API keys are 256 random
bits, so a plain SHA-256 digest (unique-indexed for lookup) is enough to store them safely.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

API_KEY_PREFIX = "ehrk_"
MIN_PASSWORD_LENGTH = 12
_HEADER = {"alg": "HS256", "typ": "JWT"}

_hasher = PasswordHasher()


class InvalidToken(Exception):
    """Malformed, badly signed or expired; the reason is for the audit trail, not the client.
    `subject` is the user an expired (but genuine) token named."""

    def __init__(self, reason: str, subject: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.subject = subject


# -- passwords -----------------------------------------------------------------------------

def password_problems(password: str, username: str = "") -> list[str]:
    """Why a password is too weak (empty list: acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"at least {MIN_PASSWORD_LENGTH} characters")
    if len(set(password)) < 5:
        problems.append("at least 5 different characters")
    if username and username.lower() in password.lower():
        problems.append("must not contain the username")
    return problems


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash to verify against when the username is unknown, so that an unknown user costs as
    long as a wrong password and the answer time does not tell which usernames exist."""
    return hash_password(secrets.token_urlsafe(16))


# -- tokens --------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, signing_input: str) -> str:
    return _b64(hmac.new(key, signing_input.encode("utf-8"), hashlib.sha256).digest())


def issue_token(key: bytes, subject: str, lifetime: int, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    claims = {"sub": subject, "iat": issued, "exp": issued + lifetime}
    signing_input = ".".join(_b64(json.dumps(part, separators=(",", ":")).encode()) for part in (_HEADER, claims))
    return f"{signing_input}.{_sign(key, signing_input)}"


def read_token(key: bytes, token: str, now: float | None = None) -> dict[str, Any]:
    """The claims of a token this gateway signed and that has not expired, else InvalidToken."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("malformed_token")
    signing_input = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_sign(key, signing_input).encode(), parts[2].encode("utf-8", "replace")):
        raise InvalidToken("bad_signature")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError):
        raise InvalidToken("malformed_token") from None
    if header != _HEADER or not isinstance(claims, dict) or not isinstance(claims.get("sub"), str) \
            or not isinstance(claims.get("exp"), int):
        raise InvalidToken("malformed_token")
    if claims["exp"] <= (time.time() if now is None else now):
        raise InvalidToken("expired_token", subject=claims["sub"])
    return claims


# -- API keys ------------------------------------------------------------------------------

def api_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_api_key() -> tuple[str, str]:
    """A fresh key (shown once) and the digest that is stored."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, api_key_digest(key)


def is_api_key(credential: str) -> bool:
    return credential.startswith(API_KEY_PREFIX)
