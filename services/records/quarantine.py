"""The quarantine store: messages the suite could not act on, with the reason, their field errors
and their original bytes and headers sealed (`shared.pii`, each bound to its row), and what
operators do with them. Nothing is deleted: a message is held until an operator replays or
discards it, and both are kept.

What is quarantined, by whom: the filing of a batch (`filing`: not JSON, not the contract,
unknown institution, ...), the registry events' consumer (`unauthenticated`, `schema_invalid`)
and what a queue dead-lettered (`dead_lettered`, `hold_dead_letters`).

Operators see reasons, field errors and a whitelist of each message's fields (`message_view`),
never a name, an unmasked ID number or clinical content. Replaying a message (as it was, or
corrected) releases its idempotency key and publishes it again to `ehr.encounters` through the
outbox, in one transaction: it is then processed like any new message, filed, pending or
quarantined again with a fresh reason. A settlement (queue `records.settlements`) goes back to
`ehr.insurance`, checked against its own contract (`kinds`).

    hold(session, pii, RECORDS_ENCOUNTERS, [(delivery, "not_json", {"_body": ["Not valid UTF-8 JSON: ..."]})])
    list_quarantine(session, status="held")  -> {"items": [{"id": 12, "reason": "not_json", ...}], "next": None}
    replay_quarantined(session, pii, 12, corrected=None, operator="ops01")   -> {"id": 12, "status": "replayed", ...}
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.delivery import Delivery
from shared.errors import InvalidTransition, ValidationFailed
from shared.logs import scrub
from shared.paging import page_by_id
from shared.pii import PiiBox
from shared.db import get_or_not_found

from services.records.kinds import ENCOUNTER, kind_of_queue
from services.records.message_view import message_view
from services.records.models import ProcessedMessage, QuarantinedMessage, outbox

HELD, REPLAYED, DISCARDED = "held", "replayed", "discarded"
QUARANTINE = QuarantinedMessage.__table__

# Where a quarantined message's ciphertexts live (`shared.pii` binds each to its table, column
# and row): its id, drawn from the table's sequence before the insert.
QUARANTINE_SEALED_IN = "quarantine.body_enc"
HEADERS_SEALED_IN = "quarantine.headers_enc"

# (delivery, reason, field errors)
Item = tuple[Delivery, str, dict]


def _text(value: str | None, limit: int = 255) -> str | None:
    """What PostgreSQL text can hold: no NUL, bounded (the original bytes are kept anyway)."""
    return None if value is None else value.replace("\x00", "\\0")[:limit]


def quarantine_rows(session: Session, pii: PiiBox, queue: str, items: list[Item]) -> list[dict]:
    """The quarantine rows of `items` (delivery, reason, field errors), with their ids."""
    sequence = sa.func.pg_get_serial_sequence(QUARANTINE.name, "id")
    ids = session.connection().scalars(
        sa.select(sa.func.nextval(sequence)).select_from(sa.func.generate_series(1, len(items)))).all()
    return [
        {
            "id": row_id,
            "queue": queue,
            "routing_key": _text(d.routing_key),
            "message_id": _text(d.message_id),
            "reason": reason,
            "details": details,
            "body_enc": pii.encrypt_bytes(d.body, QUARANTINE_SEALED_IN, str(row_id)),
            "headers_enc": seal_headers(pii, d.headers, row_id),
        }
        for row_id, (d, reason, details) in zip(ids, items)
    ]


def hold(session: Session, pii: PiiBox, queue: str, items: list[Item]) -> int:
    """Put these deliveries into the quarantine store, in the caller's transaction; returns how many."""
    if items:
        session.connection().execute(QUARANTINE.insert(), quarantine_rows(session, pii, queue, items))
    return len(items)


def hold_dead_letters(session: Session, pii: PiiBox, queue: str, deliveries: list[Delivery]) -> None:
    """Move what a queue gave up on into the quarantine store, with the broker's reason; commits."""
    rows = []
    for d in deliveries:
        deaths = d.headers.get("x-death") or [{}]
        details = {"_delivery": [f"Dead-lettered by the broker ({deaths[0].get('reason', 'unknown')}) "
                                 f"after failing in the consumer."]}
        rows.append((d, "dead_lettered", details))
    hold(session, pii, queue, rows)
    session.commit()


def seal_headers(pii: PiiBox, headers: dict | None, row_id: int) -> bytes:
    """A message's AMQP headers, sealed like its body (and bound to its row): a publisher may put
    anything in them."""
    return pii.encrypt_bytes(json.dumps(headers or {}, default=str, ensure_ascii=False).encode(),
                             HEADERS_SEALED_IN, str(row_id))


def quarantined_body(pii: PiiBox, row: QuarantinedMessage) -> bytes:
    """The original bytes of a quarantined message, opened where they are sealed (its row)."""
    return pii.decrypt_bytes(row.body_enc, QUARANTINE_SEALED_IN, str(row.id))


def headers_of(pii: PiiBox, row: QuarantinedMessage) -> dict:
    """The headers of a quarantined message: sealed, or in plaintext on rows quarantined before
    migration 0004 that `ehr keys reencrypt` has not sealed yet."""
    if row.headers_enc is not None:
        return json.loads(pii.decrypt_bytes(row.headers_enc, HEADERS_SEALED_IN, str(row.id)))
    return row.headers or {}


# -- what operators do ---------------------------------------------------------------------------


def _view(q: QuarantinedMessage) -> dict:
    return {
        "id": q.id, "queue": q.queue, "routing_key": q.routing_key, "message_id": q.message_id,
        "reason": q.reason, "details": q.details, "status": q.status,
        "received_at": q.received_at.isoformat(),
        "resolved_at": q.resolved_at.isoformat() if q.resolved_at else None,
    }


def list_quarantine(session: Session, status: str | None = HELD, reason: str | None = None,
                    limit: int = 50, cursor: str | None = None) -> dict:
    filters = []
    if status:
        filters.append(QuarantinedMessage.status == status)
    if reason:
        filters.append(QuarantinedMessage.reason == reason)
    return page_by_id(session, QuarantinedMessage, filters, limit, cursor, _view)


def _quarantined(session: Session, quarantine_id: int, lock: bool = False) -> QuarantinedMessage:
    return get_or_not_found(session, QuarantinedMessage, quarantine_id, "no such quarantined message",
                            {"id": quarantine_id}, lock)


def show_quarantined(session: Session, pii: PiiBox, quarantine_id: int) -> dict:
    row = _quarantined(session, quarantine_id)
    return {**_view(row), "body": message_view(quarantined_body(pii, row), kind_of_queue(row.queue) or ENCOUNTER)}


def _original_routing_key(pii: PiiBox, row: QuarantinedMessage) -> str:
    if row.reason == "dead_lettered":
        deaths = headers_of(pii, row).get("x-death") or []
        keys = deaths[0].get("routing-keys") if deaths and isinstance(deaths[0], dict) else None
        if keys:
            return keys[0]
    return row.routing_key


def replay_quarantined(session: Session, pii: PiiBox, quarantine_id: int, corrected: dict | None,
                       operator: str) -> dict:
    """Publish the message again, as it was or corrected, for filing; commits.

    A corrected body must pass the contract first (else ValidationFailed names its fields);
    its routing key follows the corrected institution and kind."""
    row = _quarantined(session, quarantine_id, lock=True)
    if row.status != HELD:
        raise InvalidTransition(f"this message was already {row.status}", {"status": row.status})
    routing_key = _original_routing_key(pii, row)
    kind = kind_of_queue(row.queue) or ENCOUNTER
    if corrected is not None:
        try:
            data = kind.load(corrected)
        except kind.invalid as exc:
            raise ValidationFailed("the corrected message is still invalid", exc.errors) from None
        routing_key = kind.routing_key(data)
        body = json.dumps(corrected, ensure_ascii=False)
    else:
        try:
            body = quarantined_body(pii, row).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed("the original is not UTF-8 text",
                                   {"body": ["Replay it with a corrected body."]}) from None
    parts = routing_key.split(".")
    if len(parts) == 3 and row.message_id:
        # Release the idempotency key this message claimed when it was quarantined.
        session.execute(sa.delete(ProcessedMessage).where(
            ProcessedMessage.source == kind.claim_source(parts[1]), ProcessedMessage.message_id == row.message_id))
    session.execute(outbox.insert(), [{
        "message_id": row.message_id or f"replay-{row.id}", "exchange": kind.exchange,
        "routing_key": routing_key, "body": body,
        "headers": {"x-replayed-from-quarantine": row.id, "x-replayed-by": operator},
    }])
    row.status, row.resolved_at = REPLAYED, datetime.now(timezone.utc)
    session.commit()
    return _view(row)


def discard_quarantined(session: Session, quarantine_id: int, operator: str, note: str) -> dict:
    row = _quarantined(session, quarantine_id, lock=True)
    if row.status != HELD:
        raise InvalidTransition(f"this message was already {row.status}", {"status": row.status})
    row.status, row.resolved_at = DISCARDED, datetime.now(timezone.utc)
    row.details = {**row.details, "_discarded": [f"by {operator}: {scrub(note)[:500]}"]}
    session.commit()
    return _view(row)
