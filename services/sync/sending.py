"""The sender: a batch of the rows whose turn it is (`queue.claim_due`: one per archive, at the head
of its order, locked with SKIP LOCKED), their facts gathered for the whole batch (three RPCs),
each built and sent concurrently over the client's keep-alive connections (the caller's `spawn`:
the service gives a pool of `CONCURRENCY` green threads), and every answer kept in one
transaction. A row is never sent by two workers at once
(its lock lasts until the round commits), and a worker that dies mid-round leaves its rows
queued (sent again later: the platform answers a repeat of an accepted document with the same
platform id, so nothing doubles).

A withdrawal row (`queue.WITHDRAW`: its record entered in error) needs no facts: it asks the
platform to withdraw its set's latest acknowledged version (`client.withdraw`, DELETE, named in
the row's `withdraws`), sent beside the batch's documents; withdrawn, or unknown to the platform
(nothing to withdraw: kept as the reason `unknown`), it is acknowledged; a transport failure is
retried as a document's. With no acknowledged version (every one on its way was rejected) it is
cancelled without a request.

    send_due(session, gather_batch, build, client, max_attempts=8)
        -> {"acknowledged": 3, "rejected": 0, "deferred": 0, "failed": 0, "held": 0, "cancelled": 0, "claimed": 3}

`gather_batch(rows) -> {row.id: DocumentInput | Exception}` (the documents' facts by RPC; raises when
a service cannot be asked: the batch waits), `build(DocumentInput) -> (bytes, content type)`,
`client` a `platform.PlatformClient`. What the services answer NotFound for (an archive or
record that no longer leads anywhere), or what the builders refuse, is held for an operator with
the reason; a service or builder unavailable now waits like a transport failure. Logs name row
ids, document ids and codes, never content.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from shared.errors import EhrError, NotFound

from services.sync import queue
from services.sync.building import BuilderUnavailable
from services.sync.documents.model import DocumentInput
from services.sync.models import Document
from services.sync.platform import (Accepted, Answer, Deferred, PlatformClient, Rejected, TransportFailure,
                                   Withdrawn)

log = logging.getLogger(__name__)

BATCH = 200        # rows claimed in one round (at most one per archive)
CONCURRENCY = 8    # documents in flight to the platform at once (the client's connection pool)

GatherBatch = Callable[[list[Document]], dict[int, "DocumentInput | Exception"]]
Build = Callable[[DocumentInput], tuple[bytes, str]]
# spawn(fn, *args) -> a handle whose wait() answers fn(*args): a green thread of a pool that waits
# while it is full (the service's), or `at_once` (one after the other, here).
Spawn = Callable[..., Any]
OUTCOMES = ("acknowledged", "rejected", "deferred", "failed", "held", "cancelled")
NOTHING_THERE = {"code": "unknown", "message": "the platform held no such document: nothing to withdraw"}


def _hold(row: Document, error: str, now: datetime) -> None:
    row.state, row.last_error, row.updated_at = queue.HELD, error[:200], now


def prepare(row: Document, facts: DocumentInput | Exception | None, build: Build, max_attempts: int,
            now: datetime, rng: Callable[[], float] = random.random) -> tuple[bytes, str] | str:
    """The row's document (bytes, content type), or the outcome's name when it cannot be sent now
    (kept on the row)."""
    doc_id = queue.document_id(row.set_id, row.version)
    if isinstance(facts, NotFound):
        _hold(row, f"not_found: {facts}", now)
        return "held"
    if isinstance(facts, EhrError):
        _hold(row, f"{type(facts).__name__}: {facts}", now)
        return "held"
    if not isinstance(facts, DocumentInput):  # the facts could not be read into a document
        _hold(row, f"facts: {type(facts).__name__}", now)
        return "held"
    row.custodian = facts.custodian.code
    try:
        return build(facts)
    except BuilderUnavailable as exc:
        queue.after_failure(row, f"build: {exc}", now, max_attempts, rng)
        return "failed"
    except Exception as exc:  # noqa: BLE001 - the builders refused these facts: an operator looks
        log.warning("document not built", extra={"document_id": doc_id, "type_code": row.type_code,
                                                  "error": type(exc).__name__})
        _hold(row, f"build: {type(exc).__name__}", now)
        return "held"


def record_answer(row: Document, answer: Answer, max_attempts: int, now: datetime,
                  rng: Callable[[], float] = random.random) -> str:
    """Keep the platform's answer on the row; the outcome's name."""
    doc_id = queue.document_id(row.set_id, row.version)
    row.sent_at = now
    if isinstance(answer, Withdrawn):
        row.state, row.reasons = queue.ACKNOWLEDGED, [NOTHING_THERE] if answer.unknown else []
        row.platform_id = answer.platform_id
        row.answered_at = row.updated_at = now
        row.last_error = None
        log.info("document withdrawn", extra={"document_id": row.withdraws, "unknown": answer.unknown})
        return "acknowledged"
    if isinstance(answer, Accepted):
        row.state, row.platform_id, row.reasons = queue.ACKNOWLEDGED, answer.platform_id, []
        row.answered_at = row.updated_at = now
        row.last_error = None
        return "acknowledged"
    if isinstance(answer, Rejected):
        row.state, row.reasons, row.answered_at, row.updated_at = queue.REJECTED, answer.reasons, now, now
        log.info("document rejected", extra={"document_id": doc_id, "type_code": row.type_code,
                                             "reasons": [r.get("code") for r in answer.reasons]})
        return "rejected"
    if isinstance(answer, Deferred):
        row.reasons = answer.reasons
        queue.after_failure(row, "deferred: " + ",".join(str(r.get("code")) for r in answer.reasons), now,
                            max_attempts, rng, state=queue.SENT)
        return "deferred" if row.state != queue.HELD else "held"
    assert isinstance(answer, TransportFailure)
    queue.after_failure(row, answer.error, now, max_attempts, rng)
    if row.state == queue.HELD:
        log.warning("document held after repeated failures", extra={"document_id": doc_id, "attempts": row.attempts})
        return "held"
    return "failed"


def _submit(client: PlatformClient, row: Document, document: tuple[bytes, str]) -> Answer:
    body, content_type = document
    try:
        return client.submit(queue.document_id(row.set_id, row.version), row.type_code, body, content_type,
                             replaces=row.replaces)
    except Exception as exc:  # noqa: BLE001 - a client bug must not lose the round's other answers
        return TransportFailure(f"client: {type(exc).__name__}")


def _withdraw(client: PlatformClient, row: Document) -> Answer:
    try:
        return client.withdraw(row.withdraws, queue.ENTERED_IN_ERROR)
    except Exception as exc:  # noqa: BLE001 - as _submit
        return TransportFailure(f"client: {type(exc).__name__}")


def _cancel(row: Document, error: str, now: datetime) -> None:
    row.state, row.last_error, row.updated_at = queue.CANCELLED, error, now


class _Done:
    def __init__(self, value: Any) -> None:
        self.value = value

    def wait(self) -> Any:
        return self.value


def at_once(fn: Callable[..., Any], *args: Any) -> _Done:
    """A `Spawn` without concurrency: runs `fn` now."""
    return _Done(fn(*args))


def send_due(session: Session, gather_batch: GatherBatch, build: Build, client: PlatformClient, max_attempts: int,
             limit: int = BATCH, now: datetime | None = None, rng: Callable[[], float] = random.random,
             spawn: Spawn = at_once) -> dict[str, int]:
    """One round: claim a batch, gather, build and send it, keep the answers, commit. Returns counts
    by outcome (and `claimed`)."""
    now = now or datetime.now(timezone.utc)
    counts = dict.fromkeys(OUTCOMES, 0)
    rows = queue.claim_due(session, now, limit)
    counts["claimed"] = len(rows)
    if not rows:
        session.commit()
        return counts
    submits = [row for row in rows if row.action != queue.WITHDRAW]
    withdrawals = [row for row in rows if row.action == queue.WITHDRAW]
    in_flight: list[tuple[Document, Any]] = []
    targets = queue.withdrawal_targets(session, withdrawals)
    for row in withdrawals:
        if row.id not in targets:
            _cancel(row, f"{queue.ENTERED_IN_ERROR}: nothing acknowledged to withdraw", now)
            counts["cancelled"] += 1
        else:
            row.withdraws = targets[row.id]
            in_flight.append((row, spawn(_withdraw, client, row)))
    try:
        facts = gather_batch(submits) if submits else {}
    except Exception as exc:  # noqa: BLE001 - registry or records down or late: the batch waits its turn
        for row in submits:
            queue.after_failure(row, f"gather: {type(exc).__name__}", now, max_attempts, rng)
            counts["held" if row.state == queue.HELD else "failed"] += 1
        submits = []
    for row in submits:
        document = prepare(row, facts.get(row.id), build, max_attempts, now, rng)
        if isinstance(document, str):
            counts[document] += 1
        else:  # sent while the next is built; the pool waits when CONCURRENCY are in flight
            in_flight.append((row, spawn(_submit, client, row, document)))
    for row, sending in in_flight:
        counts[record_answer(row, sending.wait(), max_attempts, now, rng)] += 1
    session.commit()
    return counts


def send_all_due(session: Session, gather_batch: GatherBatch, build: Build, client: PlatformClient,
                 max_attempts: int, limit: int = BATCH, rounds: int = 50, spawn: Spawn = at_once) -> dict[str, int]:
    """Rounds of `send_due` while they move something (an acknowledged registration lets the
    archive's records go in the next round), at most `rounds`."""
    total: dict[str, int] = {}
    for _ in range(rounds):
        counts = send_due(session, gather_batch, build, client, max_attempts, limit, spawn=spawn)
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value
        if counts["claimed"] == 0 or counts["acknowledged"] + counts["rejected"] + counts["cancelled"] == 0:
            break
    return total
