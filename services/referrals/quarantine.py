"""Where the referrals service keeps what it will not act on: hospitals' answers that are no
`ehr.referral-answer/1`, published by another account than the institution's, or from an
institution that is not the referral's receiver; unsigned or unreadable events; and what its
queues dead-lettered after failing in the consumer. Nothing is dropped; an operator reads them in
`quarantined_messages` with the reason and the field errors.

The answers name no person (referral ids, codes, clinical text), so their bodies are kept; an
unsigned event's is not (anyone could have written it).

    hold(session, "referrals.answers", [(delivery, "not_the_receiver", {"institution_code": ["..."]})])
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared import quarantine_store
from shared.delivery import Delivery

from services.referrals.models import QuarantinedMessage


def hold(session: Session, queue: str, items: list[quarantine_store.Item], keep_body: bool = True) -> int:
    """Keep these deliveries with their reasons, in the caller's transaction; returns how many."""
    return quarantine_store.hold(session, QuarantinedMessage, queue, items, keep_body)


def hold_dead_letters(session: Session, service_key: bytes, queue: str, deliveries: list[Delivery],
                      events: bool) -> None:
    """Move what `queue` gave up on into the store, with the broker's reason; commits. An event's
    body is kept only when the suite signed it; an answer's always."""
    quarantine_store.hold_dead_letters(session, QuarantinedMessage, service_key, queue, deliveries, events)
