"""The send queue's rules: one row per document version (`models.Document`), its states, the order
documents of one archive go in, and the pause after a failure. Plain functions over a session;
no Nameko, no HTTP.

States:

    queued        waiting to be sent (new, a correction, a resend)
    sent          the platform has it but deferred it (409: what it depends on is not accepted
                  yet); sent again when due (the platform answers a repeat idempotently)
    acknowledged  accepted, with the platform's id                          (final)
    rejected      the content was refused, with the platform's reasons; a correction of the
                  record queues a new version replacing it                  (final for this version)
    failed        a transport failure (5xx, timeout, refused connection); queued again after
                  `backoff(attempts)`
    held          `max_attempts` failures in a row: waits for an operator (`resend`)
    cancelled     never sent, and never to be: its record was entered in error  (final)

Actions: a row `submit`s its document (POST), or `withdraw`s the set's latest acknowledged
version (DELETE; `withdraw`): a record entered in error cancels its set's versions never sent
(no sender holds them, none was ever tried) and adds one withdrawal row at the set's end, after
any version still on its way; `cancelled` at once when nothing of the set reached or may reach
the platform. A set with a withdrawal takes no later version (`enqueue` answers None), so a late
event of the record sends nothing.

Order within an archive (`claim_due`): the archive's registration document (HSDA00.01, source
`archive`) must be acknowledged before any other document of the archive is sent; a document is
not sent while an earlier row of its archive is unsettled (neither acknowledged nor rejected),
so a correction never overtakes the version it replaces; a new registration version waits only
for the earlier registration versions. Rows are claimed with `FOR UPDATE SKIP LOCKED` and stay
locked until the caller commits, so two workers never send one document at once.

    enqueue(session, set_id="record:8f3e...", source="hypertension_follow_up", type_code="HSDB04.01",
            archive_no="11010510110100007", record_id="8f3e...", revision=2, custodian="T1101051011",
            cause="event")                                           -> Document(version=2, replaces="record:8f3e...:v1")
    claim_due(session, now, limit=20)                               -> [Document, ...] (locked)
    withdraw(session, set_id="record:8f3e...", source="hypertension_follow_up", type_code="HSDB04.01",
             archive_no="11010510110100007", record_id="8f3e...", revision=2, cause="event")
                                                                     -> Document(action="withdraw", version=3)
    backoff(3)                                                       -> timedelta(seconds=6.9)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from services.sync.models import Document

REGISTRATION = "HSDA00.01"
ARCHIVE = "archive"  # the source of the registration document

QUEUED, SENT, ACKNOWLEDGED, REJECTED, FAILED, HELD = "queued", "sent", "acknowledged", "rejected", "failed", "held"
CANCELLED = "cancelled"
STATES = (QUEUED, SENT, ACKNOWLEDGED, REJECTED, FAILED, HELD, CANCELLED)
SETTLED = (ACKNOWLEDGED, REJECTED, CANCELLED)
CLAIMABLE = (QUEUED, SENT, FAILED)
RESENDABLE = (HELD, REJECTED, FAILED, SENT)

SUBMIT, WITHDRAW = "submit", "withdraw"
ACTIONS = (SUBMIT, WITHDRAW)
ENTERED_IN_ERROR = "entered_in_error"  # the reason a withdrawal gives the platform (X-Reason)

BASE_PAUSE = 2.0      # seconds before the first retry
MAX_PAUSE = 600.0     # no retry waits longer than ten minutes


def archive_set(archive_no: str) -> str:
    return f"archive:{archive_no}"


def record_set(record_id: str, type_code: str | None = None) -> str:
    """`record:<id>`, or `record:<id>:<type>` for each of a record's several documents."""
    return f"record:{record_id}" if type_code is None else f"record:{record_id}:{type_code}"


def document_id(set_id: str, version: int) -> str:
    """As `DocumentInput.document_id`: `record:8f3e...:v2`."""
    return f"{set_id}:v{version}"


def backoff(attempts: int, rng: Callable[[], float] = random.random) -> timedelta:
    """The pause after the `attempts`-th failure in a row: exponential (2 s, 4 s, 8 s ...) up to
    ten minutes, with jitter (between half and all of it) so that retries of many documents after
    an outage do not arrive together."""
    ceiling = min(MAX_PAUSE, BASE_PAUSE * 2 ** max(0, min(attempts, 30) - 1))
    return timedelta(seconds=ceiling * (0.5 + 0.5 * rng()))


def after_failure(row: Document, error: str, now: datetime, max_attempts: int,
                  rng: Callable[[], float] = random.random, state: str = FAILED) -> None:
    """Count one failure of `row` (`state` failed, or sent for a deferral): due again after
    `backoff`, or held for an operator once `max_attempts` are spent."""
    row.attempts += 1
    row.last_error = error[:200]
    row.updated_at = now
    if row.attempts >= max_attempts:
        row.state = HELD
    else:
        row.state = state
        row.next_attempt_at = now + backoff(row.attempts, rng)


def _lock_set(session: Session, set_id: str) -> None:
    # Versions of one set are numbered one at a time (two workers may consume events of one
    # record at once); the unique (set_id, version) is the last guard.
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(set_id))))


def latest(session: Session, set_id: str) -> Document | None:
    return session.scalars(sa.select(Document).where(Document.set_id == set_id)
                           .order_by(Document.version.desc()).limit(1)).first()


def enqueue(session: Session, *, set_id: str, source: str, type_code: str, archive_no: str, cause: str,
            record_id: str | None = None, revision: int | None = None, custodian: str | None = None) -> Document | None:
    """Queue the next version of `set_id`, in the caller's transaction. A record's revision
    already queued (the same event twice through a backfill and the live queue), or a set
    withdrawn, queues nothing: None."""
    _lock_set(session, set_id)
    last = latest(session, set_id)
    if last is not None and last.action == WITHDRAW:
        return None
    if last is not None and revision is not None and last.revision is not None and last.revision >= revision:
        return None
    version = 1 if last is None else last.version + 1
    row = Document(set_id=set_id, version=version, replaces=None if last is None else document_id(set_id, last.version),
                   type_code=type_code, source=source, archive_no=archive_no, record_id=record_id,
                   revision=revision, custodian=custodian or (last.custodian if last else None), cause=cause)
    session.add(row)
    session.flush()
    return row


def withdraw(session: Session, *, set_id: str, source: str, type_code: str, archive_no: str, cause: str,
             record_id: str | None = None, revision: int | None = None) -> Document | None:
    """The set's record was entered in error (see the module doc), in the caller's transaction:
    its versions never sent cancelled, and a withdrawal row at its end; None when the set has one
    already (the same event twice)."""
    _lock_set(session, set_id)
    last = latest(session, set_id)
    if last is not None and last.action == WITHDRAW:
        return None
    now = sa.func.now()
    never_sent = session.scalars(
        sa.select(Document).where(Document.set_id == set_id, Document.action == SUBMIT,
                                  Document.state.in_((QUEUED, FAILED, HELD)), Document.sent_at.is_(None))
        .with_for_update(skip_locked=True))  # a row a sender holds now is on its way
    for row in never_sent:
        row.state, row.last_error, row.updated_at = CANCELLED, f"{ENTERED_IN_ERROR}: never sent", now
    session.flush()
    # The latest version acknowledged or on its way: what the withdrawal will most likely name.
    reached = session.scalar(sa.select(sa.func.max(Document.version))
                             .where(Document.set_id == set_id, Document.state.not_in((REJECTED, CANCELLED))))
    row = Document(set_id=set_id, version=1 if last is None else last.version + 1, replaces=None,
                   type_code=last.type_code if last else type_code, source=last.source if last else source,
                   archive_no=last.archive_no if last else archive_no, record_id=record_id, revision=revision,
                   custodian=last.custodian if last else None, cause=cause, action=WITHDRAW,
                   withdraws=document_id(set_id, reached) if reached else None,
                   state=QUEUED if reached else CANCELLED,
                   last_error=None if reached else f"{ENTERED_IN_ERROR}: nothing sent to withdraw")
    session.add(row)
    session.flush()
    return row


def withdrawal_targets(session: Session, rows: list[Document]) -> dict[int, str]:
    """The document each withdrawal row withdraws: its set's latest acknowledged version (every
    earlier row of the archive is settled when a withdrawal's turn comes); a row whose set has
    none is left out."""
    rows = [row for row in rows if row.action == WITHDRAW]
    sets = {row.set_id for row in rows}
    if not sets:
        return {}
    acknowledged = dict(session.execute(
        sa.select(Document.set_id, sa.func.max(Document.version))
        .where(Document.set_id.in_(sets), Document.action == SUBMIT, Document.state == ACKNOWLEDGED)
        .group_by(Document.set_id)).all())
    return {row.id: document_id(row.set_id, acknowledged[row.set_id]) for row in rows if row.set_id in acknowledged}


def unsent(session: Session, set_id: str) -> bool:
    """Whether the set's latest version waits, queued, never tried and held by no sender now (a
    document built at send time from the facts as they are then)."""
    row = session.scalars(sa.select(Document).where(Document.set_id == set_id).order_by(Document.version.desc())
                          .limit(1).with_for_update(skip_locked=True)).first()
    if row is None:
        return False
    # skip_locked skipped the latest if a sender holds it: then an older row may have come back.
    newest = session.scalar(sa.select(sa.func.max(Document.version)).where(Document.set_id == set_id))
    return row.version == newest and row.state == QUEUED and row.attempts == 0 and row.sent_at is None


def registration_set(session: Session, archive_no: str) -> str | None:
    """The set of the archive's registration document (its number may have changed since)."""
    return session.scalar(sa.select(Document.set_id).where(Document.archive_no == archive_no,
                                                          Document.source == ARCHIVE).limit(1))


def ensure_registration(session: Session, archive_no: str, cause: str, custodian: str | None = None) -> Document | None:
    """Queue the archive's registration document unless it has one: before its first record."""
    if registration_set(session, archive_no) is not None:
        return None
    return enqueue(session, set_id=archive_set(archive_no), source=ARCHIVE, type_code=REGISTRATION,
                   archive_no=archive_no, cause=cause, custodian=custodian)


def renumber(session: Session, former: str, current: str) -> int:
    """An archive's rows follow it to its new number (a transfer to another village), so that its
    order holds; their sets keep their ids."""
    result = session.execute(sa.update(Document).where(Document.archive_no == former).values(archive_no=current))
    return result.rowcount or 0


_earlier = aliased(Document)
_registration = aliased(Document)

# Another row of the archive before this one that is not settled yet: for a registration, one of
# its own set; for anything else, any row of the archive.
_WAITS_FOR_EARLIER = sa.exists().where(
    _earlier.archive_no == Document.archive_no, _earlier.id < Document.id, _earlier.state.not_in(SETTLED),
    sa.or_(Document.source != ARCHIVE, _earlier.set_id == Document.set_id))
_REGISTERED = sa.exists().where(
    _registration.archive_no == Document.archive_no, _registration.source == ARCHIVE,
    _registration.state == ACKNOWLEDGED)


def claim_due(session: Session, now: datetime, limit: int = 20) -> list[Document]:
    """The rows due now whose turn it is (see the module doc), oldest first, locked for this
    transaction; rows another worker holds are skipped."""
    stmt = (sa.select(Document)
            .where(Document.state.in_(CLAIMABLE), Document.next_attempt_at <= now, ~_WAITS_FOR_EARLIER,
                   sa.or_(Document.source == ARCHIVE, _REGISTERED))
            .order_by(Document.next_attempt_at, Document.id)
            .limit(limit)
            .with_for_update(of=Document, skip_locked=True))
    return list(session.scalars(stmt))
