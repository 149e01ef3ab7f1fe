"""The sign-in throttle: attempts counted per client address and per username in a fixed window,
in the gateway database, so that every gateway process (`ehr up --replicas gateway=2`) counts
the same attempts.

    wait = throttle.sign_in_wait(session, "10.1.2.3", "doc01", Limits(per_address=30, per_user=10, window=60))
    wait  -> None (go ahead) or the seconds until the window ends (answer 429 with Retry-After)

Every attempt counts, refused or not, right or wrong, so that a flood costs the gateway one
small statement per request and never an argon2 verification. The per-user limit stops
guessing one account from many addresses; the per-address limit stops one address from trying
many accounts (and from locking them all out). Each count is one upsert in its own autocommit
statement (one row lock, held for that statement only); rows of windows long past are deleted
as attempts come in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.errors import EhrError


@dataclass(frozen=True)
class Limits:
    per_address: int
    per_user: int
    window: int  # seconds


class Throttled(EhrError):
    """Too many sign-in attempts from this address or on this username: wait `retry_after` seconds."""

    status = 429
    code = "too_many_requests"


_COUNT = sa.text("""
    INSERT INTO sign_in_attempts AS a (key, window_started_at, attempts) VALUES (:key, now(), 1)
    ON CONFLICT (key) DO UPDATE SET
        window_started_at = CASE WHEN a.window_started_at <= now() - make_interval(secs => :window)
                                 THEN now() ELSE a.window_started_at END,
        attempts = CASE WHEN a.window_started_at <= now() - make_interval(secs => :window)
                        THEN 1 ELSE a.attempts + 1 END
    RETURNING a.attempts,
              extract(epoch FROM a.window_started_at + make_interval(secs => :window) - now()) AS left_s
""")
_PURGE = sa.text("DELETE FROM sign_in_attempts WHERE window_started_at < now() - make_interval(secs => :window * 2)")


def _count(session: Session, key: str, window: int) -> tuple[int, float]:
    row = session.execute(_COUNT, {"key": key, "window": window}).one()
    session.commit()
    return row.attempts, float(row.left_s)


def sign_in_wait(session: Session, address: str | None, username: str, limits: Limits) -> int | None:
    """Count one attempt from `address` on `username`; None if both are within their limits,
    else the whole seconds until the later of the exceeded windows ends (at least 1)."""
    session.execute(_PURGE, {"window": limits.window})
    session.commit()
    waits = []
    for key, limit in ((f"address:{address or 'unknown'}", limits.per_address), (f"user:{username}", limits.per_user)):
        attempts, left = _count(session, key, limits.window)
        if attempts > limit:
            waits.append(max(1, math.ceil(left)))
    return max(waits) if waits else None


def throttled(retry_after: int) -> Throttled:
    return Throttled("too many sign-in attempts; wait before trying again", {"retry_after": retry_after})
