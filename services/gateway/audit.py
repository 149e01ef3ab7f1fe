"""The audit trail: append-only, hash-chained, kept in the gateway's own database.

    append(session, Draft(actor="doc01", actor_kind="user", institution_code="T1101051011",
                          role="township_doctor", action="archive.read",
                          archive_no="11010510110100003", outcome="ok", status=200, request_id="..."))
    verify(session)           -> Verification(ok=True, checked=1234, head_seq=1234, ...)
    for_archive(session, "11010510110100003")   who looked at this archive, newest first
    for_actor(session, "doc01")                  what this user did, newest first

Entry n stores `hash = sha256("<prev_hash>:<seq>:<at in µs since 1970>:<digest>")`, where
`digest` is the sha256 of the canonical JSON of the entry's other fields (who, what, outcome...)
and `prev_hash` is entry n-1's hash (the first is chained to 64 zeros). The gateway computes the
digest and appends in one statement, `audit_append(...)` (a PL/pgSQL function, migration 0002):
the server locks the `audit_head` row, numbers the entry, stamps its time, computes the link with
PostgreSQL's sha256(), inserts it and moves the head, and the gateway's autocommit connection
commits it in that same round trip. So entries are numbered without gaps in commit order,
concurrent requests cannot fork the chain, and the head lock is held only for the server's own
work and the commit, not for round trips to a busy gateway. The head keeps the last seq and
hash, so removing the newest entries shows too. Entries written before migration 0002 carry
`scheme` 1 (the sha256 of the canonical JSON of all their fields and the previous hash) and
verify as such. Anyone with the database can check the chain without a secret
(`ehr audit verify`); it proves the trail was not edited since, not who wrote it: keep the head
hash it prints somewhere else from time to time to anchor it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.logs import scrub

from services.gateway.models import GENESIS_HASH, AuditEntry, AuditHead

HEAD_ID = 1
SCHEME = 2  # how `hash` is computed (see the module doc); entries keep the scheme they were written with
_CONTENT = ("request_id", "actor", "actor_kind", "institution_code", "role", "action", "archive_no",
            "target", "reason", "out_of_scope", "outcome", "status")
_HASHED = ("seq", "at", *_CONTENT, "prev_hash")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def clean_text(value: str | None, limit: int) -> str | None:
    """Free text as it may be stored: ID- and phone-shaped numbers masked, no NUL characters
    (PostgreSQL text cannot hold them), bounded length."""
    if value is None:
        return None
    return scrub(str(value).replace("\x00", ""))[:limit]


@dataclass
class Draft:
    """What happened, before it is numbered and chained."""

    action: str
    actor: str = "anonymous"
    actor_kind: str = "anonymous"
    institution_code: str | None = None
    role: str | None = None
    archive_no: str | None = None
    target: str | None = None
    reason: str | None = None
    out_of_scope: bool = False
    outcome: str = "error"
    status: int = 500
    request_id: str | None = None


@dataclass(frozen=True)
class Appended:
    """Where an entry went: its number, time and hash."""

    seq: int
    at: datetime
    hash: str


def _canonical(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    return value


def _micros(at: datetime) -> int:
    """The instant as whole microseconds since 1970, as the server's link computes it."""
    return (at - _EPOCH) // timedelta(microseconds=1)


def _json_sha256(payload: dict) -> str:
    """The sha256 of the payload's canonical JSON (sorted keys, no spaces, UTF-8)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False,
                                     separators=(",", ":")).encode("utf-8")).hexdigest()


def content_digest(fields: dict) -> str:
    """The sha256 of what an entry says (everything but its place in the chain)."""
    return _json_sha256({name: fields[name] for name in _CONTENT})


def link(prev_hash: str, seq: int, at: datetime, digest: str) -> str:
    """An entry's hash: what `audit_append` computes on the server."""
    return hashlib.sha256(f"{prev_hash}:{seq}:{_micros(at)}:{digest}".encode("ascii")).hexdigest()


def entry_hash(fields: dict, scheme: int = SCHEME) -> str:
    """The hash an entry with these fields (`_HASHED`) must carry."""
    if scheme == 1:
        return _json_sha256({name: _canonical(fields[name]) for name in _HASHED})
    return link(fields["prev_hash"], fields["seq"], fields["at"], content_digest(fields))


_APPEND = sa.text(
    "SELECT entry_seq, entry_at, entry_hash FROM audit_append(:request_id, :actor, :actor_kind, "
    ":institution_code, :role, :action, :archive_no, :target, :reason, :out_of_scope, :outcome, "
    ":status, :digest)")


def append(session: Session, draft: Draft) -> Appended:
    """Number, chain and commit one entry, in one statement (concurrent appends queue on the
    server for the head row, each for the length of its insert and commit only)."""
    fields = asdict(draft)
    fields.update(actor=clean_text(draft.actor, 80) or "anonymous", target=clean_text(draft.target, 80),
                  reason=clean_text(draft.reason, 500))
    seq, at, hash_ = session.execute(_APPEND, {**fields, "digest": content_digest(fields)}).one()
    session.commit()
    return Appended(seq, at, hash_)


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str | None = None


def verify(session: Session, batch: int = 5000) -> Verification:
    """Walk the chain from the first entry; stop at the first entry that does not hold."""
    head = session.get(AuditHead, HEAD_ID)
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0

    def broken(seq: int, problem: str) -> Verification:
        return Verification(False, checked, head.seq, head.hash, seq, problem)

    last_seq = 0
    while True:
        rows = session.scalars(sa.select(AuditEntry).where(AuditEntry.seq > last_seq)
                               .order_by(AuditEntry.seq).limit(batch)).all()
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return broken(expected_seq, f"entry {expected_seq} is missing (the next is {entry.seq})")
            if entry.prev_hash != prev_hash:
                return broken(entry.seq, f"entry {entry.seq} is not chained to entry {entry.seq - 1}")
            fields = {name: getattr(entry, name) for name in _HASHED}
            if entry_hash(fields, entry.scheme) != entry.hash:
                return broken(entry.seq, f"entry {entry.seq} was altered after it was written")
            prev_hash, expected_seq, checked = entry.hash, entry.seq + 1, checked + 1
        last_seq = rows[-1].seq
        session.expunge_all()
    if head.seq != expected_seq - 1 or head.hash != prev_hash:
        return broken(expected_seq, f"entries {expected_seq} to {head.seq} are missing (the head names {head.seq})"
                      if head.seq >= expected_seq else "the head does not match the last entry")
    return Verification(True, checked, head.seq, head.hash)


def for_archive(session: Session, archive_no: str, limit: int = 100) -> list[AuditEntry]:
    return list(session.scalars(sa.select(AuditEntry).where(AuditEntry.archive_no == archive_no)
                                .order_by(AuditEntry.seq.desc()).limit(limit)))


def for_actor(session: Session, actor: str, limit: int = 100) -> list[AuditEntry]:
    return list(session.scalars(sa.select(AuditEntry).where(AuditEntry.actor == actor)
                                .order_by(AuditEntry.seq.desc()).limit(limit)))


def as_dict(entry: AuditEntry) -> dict:
    return {name: _canonical(getattr(entry, name)) for name in (*_HASHED, "hash")}
