"""Where the referrals service keeps what it will not act on: hospitals' answers that are no
`ehr.referral-answer/1`, published by another account than the institution's, or from an
institution that is not the referral's receiver; unsigned or unreadable events; and what its
queues dead-lettered after failing in the consumer. Nothing is dropped; an operator reads them in
`quarantined_messages` with the reason and the field errors.

The answers name no person (referral ids, codes, clinical text), so their bodies are kept; an
unsigned event's is not (anyone could have written it).

    hold(session, "referrals.answers", [(delivery, "not_the_receiver", {"institution_code": ["..."]})])

What operators do with them (`ehr referrals quarantine ...`, `/api/v1/referral-quarantine`): list
them by status and reason, show one (its body through `message_view`: codes as they are, free text
as its shape), replay a hospital's answer (as it was or corrected: its idempotency claim is
released and it is published again to `ehr.referral-answers` through the outbox, in one
transaction, so it is applied or quarantined afresh like any new answer), or discard one with a
note. A replay speaks only for an institution the original publisher's broker account could
speak for (an operator does not vouch for a hospital), and an event is not replayed (its service
announces it; discard it). Nothing is deleted.

    list_quarantine(session, status="held")        -> {"items": [{"id": 3, "reason": "not_the_receiver", ...}], ...}
    replay(session, accounts, 3, corrected=None, operator="cli:ops")  -> {"id": 3, "status": "replayed", ...}
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared import quarantine_store
from shared.contracts.referral_messages import InvalidAnswer, load_answer
from shared.db import get_or_not_found
from shared.delivery import Delivery
from shared.errors import InvalidTransition, ValidationFailed
from shared.logs import scrub
from shared.messaging import REFERRAL_ANSWERS, REFERRALS_ANSWERS, BrokerAccounts, answer_routing_key
from shared.outbox import OutboxMessage, stage
from shared.paging import page_by_id

from services.referrals.message_view import message_view
from services.referrals.models import QuarantinedMessage, outbox, processed_messages

HELD, REPLAYED, DISCARDED = "held", "replayed", "discarded"


def hold(session: Session, queue: str, items: list[quarantine_store.Item], keep_body: bool = True) -> int:
    """Keep these deliveries with their reasons, in the caller's transaction; returns how many."""
    return quarantine_store.hold(session, QuarantinedMessage, queue, items, keep_body)


def hold_dead_letters(session: Session, service_key: bytes, queue: str, deliveries: list[Delivery],
                      events: bool) -> None:
    """Move what `queue` gave up on into the store, with the broker's reason; commits. An event's
    body is kept only when the suite signed it; an answer's always."""
    quarantine_store.hold_dead_letters(session, QuarantinedMessage, service_key, queue, deliveries, events)


# -- what operators do ---------------------------------------------------------------------------


def view(row: QuarantinedMessage) -> dict[str, Any]:
    return {"id": row.id, "queue": row.queue, "routing_key": row.routing_key, "message_id": row.message_id,
            "user_id": row.user_id, "reason": row.reason, "errors": row.errors, "status": row.status,
            "received_at": row.created_at, "resolved_at": row.resolved_at, "resolved_by": row.resolved_by}


def list_quarantine(session: Session, status: str | None = HELD, reason: str | None = None, limit: int = 50,
                    cursor: str | None = None) -> dict[str, Any]:
    """One page, newest first; `status` None: every status."""
    filters = []
    if status:
        filters.append(QuarantinedMessage.status == status)
    if reason:
        filters.append(QuarantinedMessage.reason == reason)
    return page_by_id(session, QuarantinedMessage, filters, limit, cursor, view)


def _quarantined(session: Session, quarantine_id: int, lock: bool = False) -> QuarantinedMessage:
    return get_or_not_found(session, QuarantinedMessage, quarantine_id, "no such quarantined message",
                            {"id": quarantine_id}, lock)


def show(session: Session, quarantine_id: int) -> dict[str, Any]:
    row = _quarantined(session, quarantine_id)
    return {**view(row), "body": message_view(row.body)}


def _held(row: QuarantinedMessage) -> None:
    if row.status != HELD:
        raise InvalidTransition(f"this message was already {row.status}", {"status": row.status})


def replay(session: Session, accounts: BrokerAccounts, quarantine_id: int, corrected: dict | None,
           operator: str) -> dict[str, Any]:
    """Publish a quarantined answer again, as it was or corrected; commits (see the module doc)."""
    row = _quarantined(session, quarantine_id, lock=True)
    _held(row)
    if row.queue != REFERRALS_ANSWERS:
        raise InvalidTransition("only a hospital's answer is replayed; an event is announced by its service "
                                "(discard it)", {"queue": row.queue})
    if corrected is not None:
        raw = json.dumps(corrected, ensure_ascii=False).encode()
    elif row.body is not None:
        raw = row.body.encode()
    else:
        raise ValidationFailed("the original was not kept", {"corrected": ["Replay it with a corrected body."]})
    try:
        answer = load_answer(raw)
    except InvalidAnswer as exc:
        raise ValidationFailed("the message is still no ehr.referral-answer/1", {"corrected": exc.errors}
                               if corrected is not None else {"corrected": [
                                   "The original is no ehr.referral-answer/1: replay it with a corrected body."]}
                               ) from None
    if not accounts.may_publish_for(row.user_id, answer.institution_code):
        raise ValidationFailed("a replay speaks only for the institution that published the answer", {
            "institution_code": ["Must be an institution the original publisher's broker account may answer for."]})
    message_id = row.message_id or f"replay-{row.id}"
    # Release the claim the answer made when it was refused after parsing (not the receiver, a
    # state that did not allow it), so that the replay is applied rather than taken for a repeat.
    session.execute(sa.delete(processed_messages).where(
        processed_messages.c.source == f"answer:{answer.institution_code}",
        processed_messages.c.message_id == message_id))
    stage(session, outbox, [OutboxMessage(
        exchange=REFERRAL_ANSWERS, routing_key=answer_routing_key(answer.institution_code, answer.kind),
        message_id=message_id, body=json.loads(raw),
        headers={"x-replayed-from-quarantine": row.id, "x-replayed-by": operator})])
    row.status, row.resolved_at, row.resolved_by = REPLAYED, datetime.now(timezone.utc), operator[:80]
    session.commit()
    return view(row)


def discard(session: Session, quarantine_id: int, operator: str, note: str) -> dict[str, Any]:
    """Set it aside for good, with the note (the entry is kept); commits."""
    row = _quarantined(session, quarantine_id, lock=True)
    _held(row)
    row.status, row.resolved_at, row.resolved_by = DISCARDED, datetime.now(timezone.utc), operator[:80]
    row.errors = {**(row.errors or {}), "_discarded": [scrub(note)[:500]]}
    session.commit()
    return view(row)
