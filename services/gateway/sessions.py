"""Sessions of the staff's web pages: what a browser's cookie stands for, kept in the gateway
database (`models.WebSession`), and the CSRF token of each.

A page's request authenticates with its session exactly as an API request does with a token
(`gate.WorkerGate`, which calls `caller_for_session`): the same user row, the same lock-out, the
same revocation. A session is born of a password checked by the API's own sign-in
(`WorkerGate.check_password`: throttled, counted towards the lock-out, audited as
`auth.sign_in`) and carries the user's token version then, so that signing out everywhere, a role
or password change or a lock-out ends it as it ends the user's tokens.

    token = open_session(session, "doc01", token_version=3, lifetime=36000)   # the cookie's value
    caller_for_session(session, token, idle=1800) -> (Caller("doc01", "user", ...), None)
    csrf_token(key, token)                       -> the hidden field of every form of this session
    end_session(session, token)                  -> "doc01" (the row is gone)

Only the SHA-256 of the cookie is stored: the table hands no one a session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.gateway import accounts
from services.gateway.models import WebSession

_sessions = WebSession.__table__
# One statement per page request's call: the session is alive (used within `idle` seconds, not
# past its end) and is marked used now.
_TOUCH = (sa.update(_sessions)
          .where(_sessions.c.id == sa.bindparam("digest"), _sessions.c.expires_at > sa.func.now(),
                 _sessions.c.last_seen_at > sa.func.now() - sa.bindparam("idle", type_=sa.Interval))
          .values(last_seen_at=sa.func.now())
          .returning(_sessions.c.username, _sessions.c.token_version))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, username: str, token_version: int, lifetime: int) -> str:
    """A new session for `username`; answers the cookie's value (shown to the browser only).
    Sessions long ended are cleared on the way."""
    now = datetime.now(timezone.utc)
    session.execute(sa.delete(WebSession).where(WebSession.expires_at < now - timedelta(days=1)))
    token = secrets.token_urlsafe(32)
    session.add(WebSession(id=_digest(token), username=username, token_version=token_version, created_at=now,
                           last_seen_at=now, expires_at=now + timedelta(seconds=lifetime)))
    session.commit()
    return token


def caller_for_session(session: Session, token: str, idle: int) -> tuple[accounts.Caller | None, str | None]:
    """Like `accounts.caller_for_token`: (caller, None) for a live session of a user who may still
    sign in; the problem is "ended_session" (signed out, idle too long, past its end, or never
    was), "locked_or_removed" or "revoked_token" (the user's tokens were revoked since)."""
    row = session.execute(_TOUCH, {"digest": _digest(token), "idle": timedelta(seconds=idle)}).first()
    session.commit()
    if row is None:
        return None, "ended_session"
    caller, problem = accounts.caller_for_user(session, row.username, row.token_version)
    return caller, problem


def end_session(session: Session, token: str) -> str | None:
    """Sign the session out: its row is deleted. The username it was, or None if it had ended."""
    username = session.execute(sa.delete(WebSession).where(WebSession.id == _digest(token))
                               .returning(WebSession.username)).scalar()
    session.commit()
    return username


def csrf_token(key: bytes, token: str) -> str:
    """The CSRF token of a session: every form it posts carries it (a page from elsewhere cannot
    know it). Derived, so nothing more is stored; the prefix keeps it apart from other uses of
    the key."""
    return hmac.new(key, b"web-csrf:" + token.encode(), hashlib.sha256).hexdigest()


def same(expected: str, given: str | None) -> bool:
    """Compare tokens in constant time."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
