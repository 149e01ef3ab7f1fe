"""Where the programmes service keeps the events it will not act on: unsigned ones, bodies that are
no `ehr.event/1`, and what its queue dead-lettered after failing in the consumer. Nothing is
dropped; an operator reads them in `quarantined_events`.

The suite's events carry no identifying data (archive numbers, codes, dates), so a signed
event's body is kept as it came; an unsigned one's is not: anyone who could publish it could
have put anything in it.

    hold(session, "programmes.events", [(delivery, "unauthenticated", {"_signature": ["..."]})])
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.delivery import Delivery
from shared.messaging import EVENTS
from shared.signing import Refused, check_event

from services.programmes.models import QuarantinedEvent

Item = tuple[Delivery, str, dict]


def _text(value, limit: int) -> str | None:
    return None if value is None else str(value).replace("\x00", "")[:limit]


def hold(session: Session, queue: str, items: list[Item], keep_body: bool = True) -> int:
    """Keep these deliveries with their reasons, in the caller's transaction; returns how many."""
    for delivery, reason, errors in items:
        body = None
        if keep_body and reason != "unauthenticated":
            body = delivery.body.decode("utf-8", "replace").replace("\x00", "")
        session.add(QuarantinedEvent(queue=queue, routing_key=_text(delivery.routing_key, 255),
                                     message_id=_text(delivery.message_id, 255), reason=reason, errors=errors,
                                     body=body))
    session.flush()
    return len(items)


def hold_dead_letters(session: Session, service_key: bytes, queue: str, deliveries: list[Delivery]) -> None:
    """Move what `queue` gave up on into the store, with the broker's reason; commits. The body is
    kept only when the suite signed the event."""
    for delivery in deliveries:
        deaths = delivery.headers.get("x-death") or [{}]
        errors = {"_delivery": [f"Dead-lettered by the broker ({deaths[0].get('reason', 'unknown')}) "
                                f"after failing in the consumer."]}
        try:
            check_event(service_key, EVENTS, delivery)
            signed = True
        except Refused:
            signed = False
        hold(session, queue, [(delivery, "dead_lettered", errors)], keep_body=signed)
    session.commit()
