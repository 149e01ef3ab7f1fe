"""The sender: the rows whose turn it is (`queue.claim_due`, locked), each gathered, built and sent,
and the platform's answer kept; one transaction per round, so a row is never sent by two workers
at once, and a worker that dies mid-round leaves its rows queued (sent again later: the platform
answers a repeat of an accepted document with the same platform id, so nothing doubles).

    send_due(session, gather, build, client, max_attempts=8)
        -> {"acknowledged": 3, "rejected": 0, "deferred": 0, "failed": 0, "held": 0, "waiting": 0}

`gather(row) -> DocumentInput` (the facts through RPC), `build(DocumentInput) -> (bytes, content
type)`, `client` a `platform.PlatformClient`. What the services answer NotFound for (an archive or
record that no longer leads anywhere), or what the builders refuse, is held for an operator with
the reason; a service or builder unavailable now waits like a transport failure. Logs name row
ids, document ids and codes, never content.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from shared.errors import EhrError, NotFound

from services.sync import queue
from services.sync.building import BuilderUnavailable
from services.sync.documents.model import DocumentInput
from services.sync.models import Document
from services.sync.platform import Accepted, Deferred, PlatformClient, Rejected, TransportFailure

log = logging.getLogger(__name__)

Gather = Callable[[Document], DocumentInput]
Build = Callable[[DocumentInput], tuple[bytes, str]]


def _hold(row: Document, error: str, now: datetime) -> None:
    row.state, row.last_error, row.updated_at = queue.HELD, error[:200], now


def send_one(row: Document, gather: Gather, build: Build, client: PlatformClient, max_attempts: int,
             now: datetime, rng: Callable[[], float] = random.random) -> str:
    """Send one claimed row and keep the answer on it; returns the outcome's name."""
    doc_id = queue.document_id(row.set_id, row.version)
    try:
        document = gather(row)
    except NotFound as exc:
        _hold(row, f"not_found: {exc}", now)
        return "held"
    except EhrError as exc:
        _hold(row, f"{type(exc).__name__}: {exc}", now)
        return "held"
    except Exception as exc:  # noqa: BLE001 - a service down or late: the row waits its turn again
        queue.after_failure(row, f"gather: {type(exc).__name__}", now, max_attempts, rng)
        return "failed"
    row.custodian = document.custodian.code
    try:
        body, content_type = build(document)
    except BuilderUnavailable as exc:
        queue.after_failure(row, f"build: {exc}", now, max_attempts, rng)
        return "failed"
    except Exception as exc:  # noqa: BLE001 - the builders refused these facts: an operator looks
        log.warning("document not built", extra={"document_id": doc_id, "type_code": row.type_code,
                                                  "error": type(exc).__name__})
        _hold(row, f"build: {type(exc).__name__}", now)
        return "held"
    answer = client.submit(doc_id, row.type_code, body, content_type, replaces=row.replaces)
    row.sent_at = now
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


def send_due(session: Session, gather: Gather, build: Build, client: PlatformClient, max_attempts: int,
             limit: int = 20, now: datetime | None = None, rng: Callable[[], float] = random.random) -> dict[str, int]:
    """One round: claim what is due, send it, commit. Returns counts by outcome."""
    now = now or datetime.now(timezone.utc)
    counts = {"acknowledged": 0, "rejected": 0, "deferred": 0, "failed": 0, "held": 0}
    rows = queue.claim_due(session, now, limit)
    for row in rows:
        counts[send_one(row, gather, build, client, max_attempts, now, rng)] += 1
    session.commit()
    counts["claimed"] = len(rows)
    return counts


def send_all_due(session: Session, gather: Gather, build: Build, client: PlatformClient, max_attempts: int,
                 limit: int = 20, rounds: int = 50) -> dict[str, int]:
    """Rounds of `send_due` while they move something (an acknowledged registration lets the
    archive's records go in the next round), at most `rounds`."""
    total: dict[str, int] = {}
    for _ in range(rounds):
        counts = send_due(session, gather, build, client, max_attempts, limit)
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value
        if counts["claimed"] == 0 or counts["acknowledged"] + counts["rejected"] == 0:
            break
    return total
