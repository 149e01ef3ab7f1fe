"""Secrets the gateway checks: passwords (argon2id), bearer tokens (HS256 JWT) and API keys.

    hash_password("correct horse battery")          -> "$argon2id$v=19$m=65536,t=3,p=4$..."
    issue_token(key, "doc01", lifetime=900, version=3) -> "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ..."
    read_token(key, token)                   -> {"sub": "doc01", "iat": ..., "exp": ..., "ver": 3}
    key, digest = new_api_key()                      -> ("ehrk_3q2...", "9f86d0...")  (only the digest is stored)

Tokens are made and checked by PyJWT with the algorithm pinned to HS256 and `sub`, `iat`, `exp`
and `ver` required. A token names the user and their token version only: role, institution,
lock-out and the current version are read from the gateway database on every request, so
`ehr user role`, a lock-out and a revocation (the version bumped) take effect at once. API keys are 256 random
bits, so a plain SHA-256 digest (unique-indexed for lookup) is enough to store them safely.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from functools import lru_cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

API_KEY_PREFIX = "ehrk_"
MIN_PASSWORD_LENGTH = 12

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

ALGORITHM = "HS256"  # the only one accepted: a token naming another ("none", RS256...) is refused
_REQUIRED_CLAIMS = ["sub", "iat", "exp", "ver"]


def issue_token(key: bytes, subject: str, lifetime: int, version: int = 0, now: float | None = None) -> str:
    """A token for `subject` at token version `version` (the user's `token_version`: bumping it
    revokes every token issued before)."""
    issued = int(time.time() if now is None else now)
    claims = {"sub": subject, "iat": issued, "exp": issued + lifetime, "ver": version}
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"typ": "JWT"})


def _decode(key: bytes, token: str, verify_exp: bool, now: float | None) -> dict[str, Any]:
    leeway = 0 if now is None else time.time() - now  # `now` in the past: expiry checked as of then
    return jwt.decode(token, key, algorithms=[ALGORITHM], leeway=leeway,
                      options={"require": _REQUIRED_CLAIMS, "verify_exp": verify_exp, "verify_iat": False})


def read_token(key: bytes, token: str, now: float | None = None) -> dict[str, Any]:
    """The claims of a token this gateway signed and that has not expired, else InvalidToken."""
    try:
        claims = _decode(key, token, verify_exp=True, now=now)
    except jwt.ExpiredSignatureError:
        # Genuine but expired: name its user in the audit entry of the refusal.
        subject = _decode(key, token, verify_exp=False, now=now).get("sub")
        raise InvalidToken("expired_token", subject=subject if isinstance(subject, str) else None) from None
    except jwt.InvalidSignatureError:
        raise InvalidToken("bad_signature") from None
    except jwt.InvalidTokenError:
        raise InvalidToken("malformed_token") from None
    if not isinstance(claims["sub"], str) or type(claims["ver"]) is not int or type(claims["exp"]) is not int:
        raise InvalidToken("malformed_token")
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
