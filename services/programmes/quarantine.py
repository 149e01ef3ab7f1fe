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

from shared import quarantine_store
from shared.delivery import Delivery

from services.programmes.models import QuarantinedEvent


def hold(session: Session, queue: str, items: list[quarantine_store.Item], keep_body: bool = True) -> int:
    """Keep these deliveries with their reasons, in the caller's transaction; returns how many."""
    return quarantine_store.hold(session, QuarantinedEvent, queue, items, keep_body)


def hold_dead_letters(session: Session, service_key: bytes, queue: str, deliveries: list[Delivery]) -> None:
    """Move what `queue` gave up on into the store, with the broker's reason; commits. The body is
    kept only when the suite signed the event."""
    quarantine_store.hold_dead_letters(session, QuarantinedEvent, service_key, queue, deliveries, events=True)
