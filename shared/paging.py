"""Opaque keyset cursors for paged answers: `{"items": [...], "next": cursor | None}`.

    cursor = encode_cursor(last.occurred_at.isoformat(), last.id)
    occurred_at, record_id = decode_cursor(cursor, parts=2)   # ValidationFailed if not ours
"""

from __future__ import annotations

import base64

from shared.errors import ValidationFailed

MAX_PAGE = 200
_SEP = "\x1f"


def encode_cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(_SEP.join(str(p) for p in parts).encode()).decode()


def decode_cursor(cursor: str, parts: int) -> list[str]:
    try:
        values = base64.urlsafe_b64decode(cursor.encode()).decode().split(_SEP)
    except (ValueError, UnicodeDecodeError, AttributeError):  # binascii.Error is a ValueError
        values = []
    if len(values) != parts:
        raise ValidationFailed("invalid cursor", {"cursor": ["Not a cursor this API returned."]})
    return values


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed("invalid limit", {"limit": [f"Must be between 1 and {MAX_PAGE}."]})
    return limit
