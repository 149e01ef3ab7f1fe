"""The audit trail: append-only, chained with HMAC-SHA256, kept in the gateway's own database.

    append(session, Draft(actor="doc01", actor_kind="user", institution_code="T1101051011",
                          role="township_doctor", action="archive.read",
                          archive_no="11010510110100003", outcome="ok", status=200, request_id="..."),
           key)
    verify(session, key)      -> Verification(ok=True, checked=1234, head_seq=1234, ...)
    verify(session, key, anchor=parse_head("1200:3f0c..."))   also checks a head exported earlier
    head(session)             -> (1234, "9b1e...")   what `ehr audit head` prints and the gateway logs
    for_archive(session, "11010510110100003")   who looked at this archive, newest first
    for_actor(session, "doc01")                  what this user did, newest first

Entry n stores `hash = HMAC-SHA256(EHR_AUDIT_KEY, "<prev_hash>:<seq>:<at in µs since 1970>:<digest>")`
(scheme 3), where `digest` is the sha256 of the canonical JSON of the entry's other fields (who,
what, outcome...) and `prev_hash` is entry n-1's hash (the first is chained to 64 zeros). Without
the key nobody can make a link verify, so whoever holds the database (its owner, a superuser, a
backup) cannot edit, remove or re-chain entries unseen, only cut the newest ones off, which an
exported head shows (`ehr audit head`, and the gateway's `audit head` log line every
HEAD_LOG_EVERY entries or HEAD_LOG_SECONDS; `ehr audit verify --head SEQ:HASH`).

The gateway's database role cannot write the trail's tables at all; it appends through two
SECURITY DEFINER functions (migration 0005): `audit_reserve()` locks the `audit_head` row and
answers the next number, the previous hash and the entry's time (the server's clock, taken
under the lock, so numbers and times follow commit order and concurrent appends cannot fork the
chain); the gateway computes the link; `audit_append(...)` checks the entry is the next one and
in time order, inserts it and moves the head; the commit releases the lock.

Why the gateway computes the link, not the database: the key must never reach the database.
pgcrypto's hmac() would need it as a statement parameter, and psycopg2 writes parameters into
the statement's text, which pg_stat_activity shows to every session of the same role (anyone
with the gateway's database password would read it off an idle connection) and which server
logs may keep; and an owner who can replace the function could make it keep the key. The price
is a round trip: the head stays locked from `audit_reserve` until the commit, one gateway round
trip instead of the server's work alone. On the gateway's autocommit connection both statements
carry their own transaction control (`BEGIN; SELECT ... audit_reserve()` and `SELECT
audit_append(...); COMMIT`), so an append is two round trips and holds the lock for one; in a
caller's transaction (the `ehr user` commands) the entry commits with the change it records. If
a gateway stalls while it holds the lock, its role's idle transactions end after 10 s.

Entries keep the scheme they were written with and verify as such: scheme 1 (before migration
0002: the sha256 of the canonical JSON of all fields and the previous hash) and scheme 2 (0002 to
0005: the link above with plain sha256, computed by the server). Checking scheme 3 entries needs
the key (`ehr audit verify` says so without it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.errors import EhrError
from shared.logs import scrub

from services.gateway.models import GENESIS_HASH, AuditEntry, AuditHead

HEAD_ID = 1
SCHEME = 3  # how `hash` is computed (see the module doc); entries keep the scheme they were written with
ATTEMPT = "attempt"  # the outcome of the entry a write leaves before it is done
_CONTENT = ("request_id", "actor", "actor_kind", "institution_code", "role", "action", "archive_no",
            "target", "reason", "out_of_scope", "outcome", "status")
_HASHED = ("seq", "at", *_CONTENT, "prev_hash")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class AuditUnavailable(EhrError):
    """The audit entry could not be written, so the request is not carried out."""

    status = 503
    code = "unavailable"


class MissingKey(RuntimeError):
    """Entries keyed with EHR_AUDIT_KEY cannot be checked without it."""


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


def keyed_link(key: bytes, prev_hash: str, seq: int, at: datetime, digest: str) -> str:
    """An entry's hash under scheme 3: the link above, as HMAC-SHA256 with EHR_AUDIT_KEY."""
    return hmac.new(key, f"{prev_hash}:{seq}:{_micros(at)}:{digest}".encode("ascii"), hashlib.sha256).hexdigest()


def entry_hash(fields: dict, scheme: int = SCHEME, key: bytes | None = None) -> str:
    """The hash an entry with these fields (`_HASHED`) must carry."""
    if scheme == 1:
        return _json_sha256({name: _canonical(fields[name]) for name in _HASHED})
    if scheme == 2:
        return link(fields["prev_hash"], fields["seq"], fields["at"], content_digest(fields))
    if key is None:
        raise MissingKey("entries of scheme 3 are keyed: EHR_AUDIT_KEY is needed to check them")
    return keyed_link(key, fields["prev_hash"], fields["seq"], fields["at"], content_digest(fields))


_RESERVE = "SELECT next_seq, prev_hash, entry_at FROM audit_reserve()"
_APPEND = ("SELECT audit_append(:seq, :at, :hash, :request_id, :actor, :actor_kind, :institution_code, :role, "
           ":action, :archive_no, :target, :reason, :out_of_scope, :outcome, :status)")


def append(session: Session, draft: Draft, key: bytes) -> Appended:
    """Number, chain and commit one entry (see the module doc): on an autocommit connection in
    a transaction of its own, two round trips; otherwise in the session's transaction, which it
    commits with the entry."""
    fields = asdict(draft)
    fields.update(actor=clean_text(draft.actor, 80) or "anonymous", target=clean_text(draft.target, 80),
                  reason=clean_text(draft.reason, 500))
    raw = session.connection().connection
    own = raw.dbapi_connection.autocommit  # then BEGIN and COMMIT are ours to send
    try:
        seq, prev_hash, at = session.execute(sa.text(("BEGIN; " if own else "") + _RESERVE)).one()
        hash_ = keyed_link(key, prev_hash, seq, at, content_digest(fields))
        session.execute(sa.text(_APPEND + ("; COMMIT" if own else "")), {**fields, "seq": seq, "at": at, "hash": hash_})
    except BaseException:
        if own:
            _end_transaction(raw)
        raise
    session.commit()
    return Appended(seq, at, hash_)


def _end_transaction(raw) -> None:
    """Roll back what `append` began on an autocommit connection: the pool would not (it thinks
    no transaction is open), and the head would stay locked. A connection that cannot even do
    that is closed, which ends its transaction on the server."""
    try:
        with raw.dbapi_connection.cursor() as cursor:
            cursor.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - the connection is gone or broken: close it
        raw.invalidate()


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str | None = None


def verify(session: Session, key: bytes | None = None, anchor: tuple[int, str] | None = None,
           batch: int = 5000) -> Verification:
    """Walk the chain from the first entry; stop at the first entry that does not hold. With an
    `anchor` (a head exported earlier, `parse_head`), entry `anchor[0]` must still exist and carry
    that hash. Raises MissingKey at the first keyed entry if `key` is None."""
    head = session.get(AuditHead, HEAD_ID)
    expected_seq, prev_hash, checked, keyed = 1, GENESIS_HASH, 0, False

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
            if keyed and entry.scheme < SCHEME:
                return broken(entry.seq, f"entry {entry.seq} is not keyed, though the entries before it are")
            keyed = keyed or entry.scheme >= SCHEME
            fields = {name: getattr(entry, name) for name in _HASHED}
            if not hmac.compare_digest(entry_hash(fields, entry.scheme, key), entry.hash):
                return broken(entry.seq, f"entry {entry.seq} was altered after it was written")
            if anchor is not None and entry.seq == anchor[0] and entry.hash != anchor[1]:
                return broken(entry.seq, f"entry {entry.seq} is not the one the exported head names")
            prev_hash, expected_seq, checked = entry.hash, entry.seq + 1, checked + 1
        last_seq = rows[-1].seq
        session.expunge_all()
    if head.seq != expected_seq - 1 or head.hash != prev_hash:
        return broken(expected_seq, f"entries {expected_seq} to {head.seq} are missing (the head names {head.seq})"
                      if head.seq >= expected_seq else "the head does not match the last entry")
    if anchor is not None and anchor[0] >= expected_seq:
        return broken(expected_seq, f"entries {expected_seq} to {anchor[0]} are missing (the exported head "
                                    f"names {anchor[0]})")
    return Verification(True, checked, head.seq, head.hash)


def head(session: Session) -> tuple[int, str]:
    """The chain's last number and hash, to keep outside the database (`format_head`)."""
    row = session.get(AuditHead, HEAD_ID)
    return row.seq, row.hash


def format_head(seq: int, hash_: str) -> str:
    """`SEQ:HASH`, the form `ehr audit head` prints and `ehr audit verify --head` takes."""
    return f"{seq}:{hash_}"


def log_safe(hash_: str) -> str:
    """The hash in groups of eight (`3f0c9a1b-...`): the log filter masks long runs of digits as
    ID or phone numbers, and a hex hash can hold one. `parse_head` accepts this form too."""
    return "-".join(hash_[i:i + 8] for i in range(0, len(hash_), 8))


_HEAD = re.compile(r"^(\d+):([0-9a-f]{64})$")


def parse_head(text: str) -> tuple[int, str]:
    """`SEQ:HASH` (the hash plain or as `log_safe` writes it) -> (seq, hash); ValueError if not."""
    match = _HEAD.match(text.strip().lower().replace("-", ""))
    if not match:
        raise ValueError("expected SEQ:HASH, e.g. 1200:3f0c... (64 hexadecimal characters)")
    return int(match.group(1)), match.group(2)


def for_archive(session: Session, archive_no: str, limit: int = 100) -> list[AuditEntry]:
    return list(session.scalars(sa.select(AuditEntry).where(AuditEntry.archive_no == archive_no)
                                .order_by(AuditEntry.seq.desc()).limit(limit)))


def for_actor(session: Session, actor: str, limit: int = 100) -> list[AuditEntry]:
    return list(session.scalars(sa.select(AuditEntry).where(AuditEntry.actor == actor)
                                .order_by(AuditEntry.seq.desc()).limit(limit)))


def as_dict(entry: AuditEntry) -> dict:
    return {name: _canonical(getattr(entry, name)) for name in (*_HASHED, "hash")}
