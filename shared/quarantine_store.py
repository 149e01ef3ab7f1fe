"""The quarantine store of a service that consumes messages: what it will not act on is kept in a
table of its own database with the queue, routing key, message id, the reason and the field errors,
never dropped. A service passes its model (columns `queue`, `routing_key`, `message_id`, `reason`,
`errors`, `body`, and `user_id` when it keeps the publisher's validated account).

A body is kept when it can be trusted to be what the suite or a partner sent: an unsigned event's
is not (anyone who could publish it could have put anything in it), and a dead-lettered event's
only when the suite's signature holds. Bodies are cut at `MAX_BODY`.

    hold(session, QuarantinedEvent, "programmes.events", [(delivery, "schema_invalid", {"data": [...]})])
    hold_dead_letters(session, QuarantinedEvent, service_key, "programmes.events", deliveries)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.delivery import Delivery
from shared.messaging import EVENTS
from shared.signing import Refused, check_event

Item = tuple[Delivery, str, dict]
MAX_BODY = 256 * 1024


def _text(value, limit: int) -> str | None:
    return None if value is None else str(value).replace("\x00", "")[:limit]


def hold(session: Session, model: type, queue: str, items: list[Item], keep_body: bool = True) -> int:
    """Keep these deliveries with their reasons, in the caller's transaction; returns how many."""
    for delivery, reason, errors in items:
        body = None
        if keep_body and reason != "unauthenticated":
            body = delivery.body[:MAX_BODY].decode("utf-8", "replace").replace("\x00", "")
        row = model(queue=queue, routing_key=_text(delivery.routing_key, 255),
                    message_id=_text(delivery.message_id, 255), reason=reason, errors=errors, body=body)
        if hasattr(model, "user_id"):
            row.user_id = _text(delivery.user_id, 255)
        session.add(row)
    session.flush()
    return len(items)


def hold_dead_letters(session: Session, model: type, service_key: bytes, queue: str, deliveries: list[Delivery],
                      events: bool = True) -> None:
    """Move what `queue` gave up on into the store, with the broker's reason; commits. For a queue
    of the suite's events (`events`), a body is kept only when the suite signed it."""
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
        hold(session, model, queue, [(delivery, "dead_lettered", errors)], keep_body=keep)
    session.commit()


def shape_of(value: Any) -> str:
    """The shape of a value without its content, for operators' views of a kept message:
    "string(18)", "number", "array(3)", "object(4 fields)", "boolean", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return f"string({len(value)})"
    if isinstance(value, list):
        return f"array({len(value)})"
    return f"object({len(value)} fields)"
