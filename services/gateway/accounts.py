"""Accounts, API keys and access grants: use cases over a gateway database session, used by the
gateway (sign-in, every request's authentication, grants) and by `ehr user` / `ehr apikey`.

    create_user(session, "doc01", "a long passphrase", "T1101051011", "township_doctor")
    sign_in(sessionmaker, "doc01", "a long passphrase", lockout_threshold=5, lockout_seconds=900)
                                                     -> SignIn(caller, "ok", token_version=0)
    revoke_tokens(session, "doc01")                  every token of doc01 stops working
    key = add_api_key(session, "sunhe-his", "T1101051011", "township_system")   # shown once
    caller_for_api_key(session, key)  -> Caller(name="apikey:sunhe-his", kind="api_key", ...)
    grant_access(session, caller, "11010520110100001", "急诊就诊", lifetime=14400, owner=archive, daily_limit=20)
    list_grants(session, {"prefix": "110105201", "institution_code": "T1101052011"}, limit=50)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.contracts.events import ACCESS_GRANTED, event_message
from shared.db import commit_or_conflict
from shared.errors import NotFound, ValidationFailed
from shared.outbox import stage
from shared.paging import decode_cursor, encode_cursor

from services.gateway import access, credentials
from services.gateway.audit import clean_text
from services.gateway.models import AccessGrant, ApiKey, User, outbox

USERNAME = re.compile(r"^[A-Za-z0-9._-]{3,64}$")
API_KEY_NAME = re.compile(r"^[A-Za-z0-9._-]{3,64}$")
USER, API_KEY = "user", "api_key"
SERVICE = "gateway"  # the `service` of the events it announces


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the gateway authenticated them."""

    name: str  # the username, or "apikey:<name>"
    kind: str  # user | api_key
    institution_code: str | None
    role: str | None

    def actor(self, request_id: str | None) -> Actor:
        return Actor(user=self.name, institution_code=self.institution_code, role=self.role,
                     request_id=request_id)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# -- users ---------------------------------------------------------------------------------

def create_user(session: Session, username: str, password: str, institution_code: str, role: str) -> User:
    errors: dict[str, list[str]] = {}
    if not USERNAME.match(username or ""):
        errors["username"] = ["3 to 64 letters, digits, '.', '_' or '-'."]
    if role not in access.USER_ROLES:
        errors["role"] = [f"One of {', '.join(access.USER_ROLES)}."]
    problems = credentials.password_problems(password or "", username or "")
    if problems:
        errors["password"] = [f"Too weak: {'; '.join(problems)}."]
    if errors:
        raise ValidationFailed("cannot create the user", errors)
    user = User(username=username, password_hash=credentials.hash_password(password),
                institution_code=institution_code, role=role, failed_attempts=0)
    session.add(user)
    commit_or_conflict(session, "the username is taken", {"username": username})
    return user


def get_user(session: Session, username: str, lock: bool = False) -> User:
    stmt = sa.select(User).where(User.username == username)
    user = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if user is None:
        raise NotFound("no such user", {"username": username})
    return user


def staff_member(session: Session, username: str) -> dict[str, str] | None:
    """`{"institution_code": ..., "role": ...}` of a user, or None when there is no such user."""
    row = session.execute(sa.select(User.institution_code, User.role).where(User.username == username)).first()
    return None if row is None else {"institution_code": row.institution_code, "role": row.role}


def responsible_doctors(session: Session) -> frozenset[tuple[str, str]]:
    """(username, institution code) of every user who may be 责任医生 of the archives that
    institution manages (`access.may_be_responsible`): what `ehr import residents` checks a
    register's 责任医生 against, as the gateway checks a creation's."""
    rows = session.execute(sa.select(User.username, User.institution_code, User.role))
    return frozenset((row.username, row.institution_code) for row in rows
                     if access.may_be_responsible({"institution_code": row.institution_code, "role": row.role},
                                                  row.institution_code))


def set_role(session: Session, username: str, role: str) -> User:
    """Give the user another role; their tokens are revoked (they sign in again as what they are now)."""
    if role not in access.USER_ROLES:
        raise ValidationFailed("unknown role", {"role": [f"One of {', '.join(access.USER_ROLES)}."]})
    user = get_user(session, username, lock=True)
    user.role = role
    user.token_version += 1
    session.commit()
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """A new password; the user's tokens are revoked and a lock-out is lifted."""
    problems = credentials.password_problems(password or "", username)
    if problems:
        raise ValidationFailed("cannot change the password", {"password": [f"Too weak: {'; '.join(problems)}."]})
    password_hash = credentials.hash_password(password)
    user = get_user(session, username, lock=True)
    user.password_hash, user.failed_attempts, user.locked_at, user.locked_until = password_hash, 0, None, None
    user.token_version += 1
    session.commit()
    return user


def unlock(session: Session, username: str) -> User:
    """Lift a lock-out before it ends. Tokens issued before it stay revoked."""
    user = get_user(session, username, lock=True)
    user.locked_at, user.locked_until, user.failed_attempts = None, None, 0
    user.token_version += 1
    session.commit()
    return user


def revoke_tokens(session: Session, username: str) -> int:
    """Sign the user out everywhere: every token issued so far stops working at once. One
    statement (it also runs on the gateway's autocommit connection); the new token version."""
    version = session.execute(sa.update(User).where(User.username == username)
                              .values(token_version=User.token_version + 1).returning(User.token_version)).scalar()
    if version is None:
        session.rollback()
        raise NotFound("no such user", {"username": username})
    session.commit()
    return version


def is_locked(user, now: datetime | None = None) -> bool:
    """Whether `user` (a User, or a row with its `locked_until`) is locked out now."""
    return user.locked_until is not None and user.locked_until > (now or _now())


def list_users(session: Session) -> list[User]:
    return list(session.scalars(sa.select(User).order_by(User.username)))


@dataclass(frozen=True)
class SignIn:
    caller: Caller | None
    outcome: str  # ok | wrong_password | unknown_user | locked (now or before)
    token_version: int = 0


_STORED = sa.select(User.id, User.password_hash, User.locked_until)


def sign_in(sessions: Callable[[], Session], username: str, password: str, lockout_threshold: int,
            lockout_seconds: int, verify: Callable[[str, str], bool] = credentials.verify_password) -> SignIn:
    """Check a password. `lockout_threshold` consecutive failures lock the account for
    `lockout_seconds` (or until `ehr user unlock`) and revoke its tokens; a locked account is
    refused even with the right password. Every path verifies one argon2 hash, so timing does not
    tell whether the username exists.

    `sessions()` opens a database session; none is held while the password is verified (tens
    of milliseconds of CPU): the hash is read, the connection goes back to the pool, the password
    is verified, and the outcome is written in one conditional UPDATE, so concurrent attempts
    count exactly and need no row lock across the verification."""
    with sessions() as session:
        stored = session.execute(_STORED.where(User.username == username)).first()
    if stored is None or is_locked(stored):
        verify(credentials.dummy_hash(), password)
        return SignIn(None, "unknown_user" if stored is None else "locked")
    if not verify(stored.password_hash, password):
        return _failed(sessions, stored.id, lockout_threshold, lockout_seconds)
    rehashed = credentials.hash_password(password) if credentials.needs_rehash(stored.password_hash) else None
    unlocked = sa.or_(User.locked_until.is_(None), User.locked_until <= sa.func.now())
    with sessions() as session:
        # Only if the password and the lock-out are still as verified: a change in between wins.
        row = session.execute(
            sa.update(User).where(User.id == stored.id, User.password_hash == stored.password_hash, unlocked)
            .values(failed_attempts=0, last_sign_in_at=sa.func.now(), locked_at=None, locked_until=None,
                    password_hash=rehashed or User.password_hash)
            .returning(User.username, User.institution_code, User.role, User.token_version)).first()
        session.commit()
    if row is None:
        return SignIn(None, "locked")
    return SignIn(Caller(row.username, USER, row.institution_code, row.role), "ok", row.token_version)


def _failed(sessions: Callable[[], Session], user_id: int, threshold: int, lockout_seconds: int) -> SignIn:
    reaches = User.failed_attempts + 1 >= threshold
    with sessions() as session:
        locked = session.execute(
            sa.update(User).where(User.id == user_id)
            .values(failed_attempts=sa.case((reaches, 0), else_=User.failed_attempts + 1),
                    locked_at=sa.case((reaches, sa.func.now()), else_=User.locked_at),
                    locked_until=sa.case((reaches, sa.func.now() + timedelta(seconds=lockout_seconds)),
                                         else_=User.locked_until),
                    token_version=sa.case((reaches, User.token_version + 1), else_=User.token_version))
            # after a failure the count is back at 0 only if this one locked the account
            .returning((User.failed_attempts == 0).label("locked"))).scalar()
        session.commit()
    return SignIn(None, "locked" if locked else "wrong_password")


# Every guarded request authenticates with one of these two statements: built once, of plain
# columns (no ORM objects to load), they cost the gateway a fraction of an ORM query's CPU.
_users, _api_keys = User.__table__, ApiKey.__table__
_USER_BY_NAME = (sa.select(_users.c.institution_code, _users.c.role, _users.c.locked_until, _users.c.token_version)
                 .where(_users.c.username == sa.bindparam("username")))
_API_KEY_BY_DIGEST = (sa.select(_api_keys.c.name, _api_keys.c.institution_code, _api_keys.c.role,
                                _api_keys.c.revoked_at)
                      .where(_api_keys.c.key_digest == sa.bindparam("digest")))


def caller_for_token(session: Session, key: bytes, token: str) -> tuple[Caller | None, str | None]:
    """Like `caller_for_api_key` for a signed token: the problem is "expired_token",
    "bad_signature", "malformed_token", "locked_or_removed" when the user named by a valid token
    is locked out or was removed since, or "revoked_token" when the user's tokens were revoked
    since it was issued (the caller is given when the token names a user)."""
    try:
        claims = credentials.read_token(key, token)
        username, version, problem = claims["sub"], claims["ver"], None
    except credentials.InvalidToken as exc:
        username, version, problem = exc.subject, None, exc.reason
    if username is None:
        return None, problem
    caller, user_problem = caller_for_user(session, username, version)
    return caller, problem or user_problem


def caller_for_user(session: Session, username: str, version: int | None) -> tuple[Caller, str | None]:
    """The user `username` as a caller, and why they may not call now: "locked_or_removed", or
    "revoked_token" when their tokens were revoked since `version` (a token's, a web session's)."""
    user = session.execute(_USER_BY_NAME, {"username": username}).first()
    if user is None:
        return Caller(username, USER, None, None), "locked_or_removed"
    if is_locked(user):
        return Caller(username, USER, user.institution_code, user.role), "locked_or_removed"
    if version is not None and version != user.token_version:
        return Caller(username, USER, user.institution_code, user.role), "revoked_token"
    return Caller(username, USER, user.institution_code, user.role), None


# -- API keys ------------------------------------------------------------------------------

def add_api_key(session: Session, name: str, institution_code: str, role: str) -> str:
    """Create a key and return it: the only time it exists outside the client."""
    errors: dict[str, list[str]] = {}
    if not API_KEY_NAME.match(name or ""):
        errors["name"] = ["3 to 64 letters, digits, '.', '_' or '-'."]
    if role not in access.API_KEY_ROLES:
        errors["role"] = [f"One of {', '.join(access.API_KEY_ROLES)}."]
    if errors:
        raise ValidationFailed("cannot create the API key", errors)
    key, digest = credentials.new_api_key()
    session.add(ApiKey(name=name, key_digest=digest, institution_code=institution_code, role=role))
    commit_or_conflict(session, "a live API key has this name; revoke it first", {"name": name})
    return key


def revoke_api_key(session: Session, name: str) -> ApiKey:
    key = session.scalars(sa.select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
                          .with_for_update()).first()
    if key is None:
        raise NotFound("no live API key has this name", {"name": name})
    key.revoked_at = _now()
    session.commit()
    return key


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(sa.select(ApiKey).order_by(ApiKey.name, ApiKey.id)))


def caller_for_api_key(session: Session, key: str) -> tuple[Caller | None, str | None]:
    """(caller, None) for a live key; (caller, "revoked_key") for a revoked one, so that the
    refusal can name it; (None, "unknown_key")."""
    row = session.execute(_API_KEY_BY_DIGEST, {"digest": credentials.api_key_digest(key)}).first()
    if row is None:
        return None, "unknown_key"
    caller = Caller(f"apikey:{row.name}", API_KEY, row.institution_code, row.role)
    return caller, "revoked_key" if row.revoked_at is not None else None


# -- grants --------------------------------------------------------------------------------

GRANT_WINDOW = timedelta(hours=24)  # the daily limit counts the grants of the last 24 hours


def grant_access(session: Session, caller: Caller, archive_no: str, reason: str, lifetime: int,
                 owner: Mapping[str, Any], daily_limit: int, request_id: str | None = None) -> AccessGrant:
    """Grant `caller` the archive (`owner`: the registry's archive, where it lies and who manages
    it) for `lifetime` seconds and stage `access_granted` for its owners, in one transaction;
    commits. Past `daily_limit` grants in 24 hours, `TooManyGrants` and nothing is written.

        data of access_granted: {"grant_id": 7, "archive_no": "11010520110100001",
            "village_code": "110105201101", "institution_code": "T1101052011",
            "reason": "急诊：患者在本院就诊", "granted_at": "...", "expires_at": "..."}
        (the envelope's actor is the grantee: user, institution_code, role)
    """
    # One user's grants queue here, so that two at once cannot both slip under the limit.
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("access_grants:" + caller.name))))
    now = _now()
    taken = session.scalar(sa.select(sa.func.count()).select_from(AccessGrant).where(
        AccessGrant.actor == caller.name, AccessGrant.granted_at > now - GRANT_WINDOW))
    if taken >= daily_limit:
        session.rollback()
        raise access.TooManyGrants("you have taken the most grants allowed in 24 hours; ask the archive's "
                                   "institution, or try again later", {"limit": daily_limit, "window_hours": 24})
    grant = AccessGrant(actor=caller.name, archive_no=archive_no, reason=clean_text(reason, 500),
                        institution_code=caller.institution_code, role=caller.role,
                        archive_village_code=owner.get("village_code"),
                        archive_institution_code=owner.get("institution_code"),
                        granted_at=now, expires_at=now + timedelta(seconds=lifetime))
    session.add(grant)
    session.flush()
    stage(session, outbox, [event_message(SERVICE, ACCESS_GRANTED, {
        "grant_id": grant.id, "archive_no": grant.archive_no, "village_code": grant.archive_village_code,
        "institution_code": grant.archive_institution_code, "reason": grant.reason,
        "granted_at": grant.granted_at, "expires_at": grant.expires_at,
    }, caller.actor(request_id))])
    session.commit()
    return grant


def active_grant(session: Session, caller: Caller, archive_no: str) -> AccessGrant | None:
    return session.scalars(
        sa.select(AccessGrant)
        .where(AccessGrant.actor == caller.name, AccessGrant.archive_no == archive_no,
               AccessGrant.expires_at > _now())
        .order_by(AccessGrant.expires_at.desc()).limit(1)
    ).first()


def list_grants(session: Session, scope: Mapping[str, str | None], since: str | None = None, limit: int = 50,
                cursor: str | None = None) -> dict:
    """The grants taken on archives of a jurisdiction (`access.search_scope`: archives numbered
    under `prefix` when granted, or managed by `institution_code`), newest first, paged:
    `{"items": [AccessGrant, ...], "next": cursor | None}`; `since` an ISO instant."""
    owned = [AccessGrant.archive_institution_code == scope["institution_code"]] if scope.get("institution_code") else []
    if scope.get("prefix"):
        owned.append(AccessGrant.archive_village_code.startswith(scope["prefix"], autoescape=True))
    if not owned:
        return {"items": [], "next": None}
    stmt = sa.select(AccessGrant).where(sa.or_(*owned)).order_by(AccessGrant.id.desc()).limit(limit + 1)
    if since:
        stmt = stmt.where(AccessGrant.granted_at >= datetime.fromisoformat(since))
    if cursor:
        (last,) = decode_cursor(cursor, parts=1)
        if not re.fullmatch(r"[0-9]{1,18}", last):
            raise ValidationFailed("invalid cursor", {"cursor": ["Not a cursor this API returned."]})
        stmt = stmt.where(AccessGrant.id < int(last))
    grants = list(session.scalars(stmt))
    page = grants[:limit]
    return {"items": page, "next": encode_cursor(page[-1].id) if len(grants) > limit else None}
