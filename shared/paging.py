"""Opaque keyset cursors for paged answers: `{"items": [...], "next": cursor | None}`.

    cursor = encode_cursor(last.occurred_at.isoformat(), last.id)
    occurred_at, record_id = decode_cursor(cursor, parts=2)   # ValidationFailed if not ours

    page_by_id(session, QuarantinedMessage, [QuarantinedMessage.status == "held"], 50, None, view)
        -> {"items": [view(row), ...], "next": "MTI="}          # newest (highest id) first
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

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


def page_by_id(session, model, filters: list, limit: int, cursor: str | None,
               view: Callable[[Any], dict]) -> dict:
    """One page of `model`'s rows matching `filters`, newest (highest integer id) first, each as
    `view` shows it."""
    check_limit(limit)
    stmt = sa.select(model).where(*filters).order_by(model.id.desc()).limit(limit + 1)
    if cursor:
        (last_id,) = decode_cursor(cursor, parts=1)
        if not last_id.isdigit():
            raise ValidationFailed("invalid cursor", {"cursor": ["Not a cursor this API returned."]})
        stmt = stmt.where(model.id < int(last_id))
    rows = session.scalars(stmt).all()
    page = rows[:limit]
    return {"items": [view(r) for r in page], "next": encode_cursor(page[-1].id) if len(rows) > limit else None}
