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

from shared.delivery import Delivery
from shared.messaging import EVENTS
from shared.signing import Refused, check_event

from services.referrals.models import QuarantinedMessage

Item = tuple[Delivery, str, dict]
MAX_BODY = 256 * 1024


def _text(value, limit: int) -> str | None:
    return None if value is None else str(value).replace("\x00", "")[:limit]


def hold(session: Session, queue: str, items: list[Item], keep_body: bool = True) -> int:
    """Keep these deliveries with their reasons, in the caller's transaction; returns how many."""
    for delivery, reason, errors in items:
        body = None
        if keep_body and reason != "unauthenticated":
            body = delivery.body[:MAX_BODY].decode("utf-8", "replace").replace("\x00", "")
        session.add(QuarantinedMessage(queue=queue, routing_key=_text(delivery.routing_key, 255),
                                       message_id=_text(delivery.message_id, 255),
                                       user_id=_text(delivery.user_id, 255), reason=reason, errors=errors, body=body))
    session.flush()
    return len(items)


def hold_dead_letters(session: Session, service_key: bytes, queue: str, deliveries: list[Delivery],
                      events: bool) -> None:
    """Move what `queue` gave up on into the store, with the broker's reason; commits. An event's
    body is kept only when the suite signed it; an answer's always."""
    for delivery in deliveries:
        deaths = delivery.headers.get("x-death") or [{}]
        errors = {"_delivery": [f"Dead-lettered by the broker ({deaths[0].get('reason', 'unknown')}) "
                                f"after failing in the consumer."]}
        keep = True
        if events:
            try:
                check_event(service_key, EVENTS, delivery)
            except Refused:
                keep = False
        hold(session, queue, [(delivery, "dead_lettered", errors)], keep_body=keep)
    session.commit()
