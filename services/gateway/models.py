"""The gateway's own tables (database `<prefix>_gateway`, apart from all clinical data):
accounts, API keys, out-of-scope access grants, the hash-chained audit trail, and the outbox of
the events the gateway announces (`access_granted`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Identity, Index, Integer, SmallInteger, String, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import new_metadata
from shared.outbox import outbox_table

GENESIS_HASH = "0" * 64  # what the first audit entry is chained to


class Base(DeclarativeBase):
    metadata = new_metadata()


class User(Base):
    """A person who signs in. The password only as an argon2id hash. Repeated failed sign-ins
    lock the account until `locked_until` (`locked_at` says since when); `token_version` is in
    every token issued, and bumping it revokes them all."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    institution_code: Mapped[str] = mapped_column(String(22))
    role: Mapped[str] = mapped_column(String(32))
    failed_attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    token_version: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApiKey(Base):
    """A system client's key: its SHA-256 digest only. Revoked keys are kept (the audit names them)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    institution_code: Mapped[str] = mapped_column(String(22))
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # One live key per name; a revoked key's name can be given to its replacement.
        Index("uq_api_keys_live_name", "name", unique=True, postgresql_where=text("revoked_at IS NULL")),
    )


class SignInAttempts(Base):
    """Sign-in attempts counted per client address (`address:<ip>`) and per username
    (`user:<name>`) in a fixed window, for the throttle; shared by every gateway process. Rows of
    windows long past are deleted as attempts come in."""

    __tablename__ = "sign_in_attempts"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_sign_in_attempts_window_started_at", "window_started_at"),)


class WebSession(Base):
    """A signed-in session of the staff's web pages (`services/gateway/sessions.py`). Only the
    SHA-256 of the cookie's value is kept, so the table hands no one a usable session. It carries
    the user's `token_version` when it began: whatever revokes the user's tokens (signing out
    everywhere, a role or password change, a lock-out) ends it too. It ends after `idle` seconds
    without a request or at `expires_at`, whichever comes first, or when the user signs out (the
    row is deleted: it holds no clinical data, and the audit trail keeps the sign-in and out)."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex SHA-256 of the cookie value
    username: Mapped[str] = mapped_column(String(64))
    token_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_web_sessions_expires_at", "expires_at"),)


class AccessGrant(Base):
    """Time-limited access to one archive outside the caller's scope, with the stated reason.

    `institution_code` and `role` are the grantee's; `archive_village_code` and
    `archive_institution_code` where the archive lay and who managed it when it was granted, so
    that the owning side's supervisors find it (`GET /api/v1/grants`). Grants taken before
    migration 0004 have neither and are listed to no one."""

    __tablename__ = "access_grants"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    actor: Mapped[str] = mapped_column(String(80))
    archive_no: Mapped[str] = mapped_column(String(17))
    reason: Mapped[str] = mapped_column(String(500))
    institution_code: Mapped[str | None] = mapped_column(String(22))
    role: Mapped[str | None] = mapped_column(String(32))
    archive_village_code: Mapped[str | None] = mapped_column(String(12))
    archive_institution_code: Mapped[str | None] = mapped_column(String(22))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_access_grants_actor_archive_no", "actor", "archive_no", "expires_at"),)


class AuditEntry(Base):
    """One thing done (or refused) through the gateway. Append-only: a trigger refuses UPDATE and
    DELETE, the gateway's database role may not write the table at all, and each entry's `hash`
    (HMAC-SHA256 under EHR_AUDIT_KEY since scheme 3) covers its fields and the previous entry's
    hash, so an edit or a removal that got past the trigger shows in `ehr audit verify`. No
    clinical content, no unmasked ID numbers: archive numbers, record ids and masked free text
    only. Written only by the database functions `audit_reserve` and `audit_append` (see
    `audit.py`); `scheme` says how its hash was made."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    request_id: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(80))
    actor_kind: Mapped[str] = mapped_column(String(16))  # user | api_key | anonymous
    institution_code: Mapped[str | None] = mapped_column(String(22))
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(48))
    archive_no: Mapped[str | None] = mapped_column(String(17))
    target: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(String(500))
    out_of_scope: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(24))
    status: Mapped[int] = mapped_column(SmallInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    scheme: Mapped[int] = mapped_column(SmallInteger)

    __table_args__ = (
        Index("ix_audit_entries_archive_no", "archive_no", "seq"),
        Index("ix_audit_entries_actor", "actor", "seq"),
    )


class AuditHead(Base):
    """The chain's last link (one row). `audit_reserve` locks it until the append commits, so
    concurrent appends queue here and the chain cannot fork; it also makes the removal of the
    newest entries detectable (and an exported copy, `ehr audit head`, their removal with the
    head moved back)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


outbox = outbox_table(Base.metadata)
