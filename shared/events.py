"""The idempotent consumer of the suite's events (`ehr.event/1` on `ehr.events`): a service
subclasses `EventConsumer` and writes one `handle_<event_type>(session, event)` per event it acts
on; the base does the rest, for one batch of deliveries in one transaction:

1. authenticity: an event the suite did not sign (`shared.signing.check_event` with the service
   key) is quarantined as `unauthenticated`, logged with its message id and the failed check,
   and changes nothing;
2. reading: a body that is not an `ehr.event/1` is quarantined as `schema_invalid`;
3. idempotency: the event's id is claimed once in the service's processed-message table
   (`shared.claims`), under the consumer's `source`; a repeat delivery changes nothing;
4. dispatch: `handle_<event_type>(session, event)` is called with the event as read
   (`{"event_id": ..., "event_type": ..., "data": {...}, ...}`) and answers how many things it
   changed; an event type without a handler is claimed, acknowledged and ignored (a publisher
   may announce more than this consumer cares about);

then commits once, and answers the sum of what the handlers changed. The caller acknowledges the
batch after that commit. The ids of a batch's events are claimed in one statement, and a repeat
within the batch is handled once.

A consumer that applies a run of one event type faster together (the bulk of its traffic) writes
`batch_<event_type>(session, events)` instead: consecutive events of that type in a batch are
handed over together, in order; any other event ends the run first, so the queue's order holds.
(`batch_` and not `handle_`: an event type never reaches a method other than its own handler.)

    class RegistryEvents(EventConsumer):
        source, queue = "registry", RECORDS_REGISTRY_EVENTS

        def quarantine(self, session, items): ...          # the service's store
        def handle_archive_created(self, session, event) -> int: ...

    RegistryEvents(processed_messages, service_key).consume(session, deliveries)   # -> 3

    class ProgrammeEvents(EventConsumer):
        def batch_record_changed(self, session, events) -> int: ...   # a run of them at once
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from shared.claims import claim
from shared.contracts.events import Event, InvalidEvent, load_event
from shared.delivery import Delivery
from shared.messaging import EVENTS
from shared.signing import Refused, check_event

log = logging.getLogger(__name__)

# What can follow `handle_` in a handler's name: an event type is a past-tense fact in snake case.
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,63}")

Handler = Callable[[Session, Event], int]
BatchHandler = Callable[[Session, list[Event]], int]


class NotAnEvent(ValueError):
    """A body that is not an `ehr.event/1`; `errors` are its field errors."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("not an ehr.event/1")
        self.errors = errors


def _read(delivery: Delivery) -> Event:
    """The `ehr.event/1` a delivery carries (`shared.contracts.events.load_event`: envelope and
    payload validated), or NotAnEvent with the field errors: the one place events are read."""
    try:
        return load_event(delivery.body)
    except InvalidEvent as exc:
        raise NotAnEvent({"_body": ["Not an ehr.event/1."], **exc.errors}) from None


class EventConsumer:
    """Applies events once each through `handle_<event_type>` methods (see the module doc).

    `claims` is the service's processed-message table (`shared.claims.processed_messages_table`),
    `service_key` the key events are signed with. A subclass names its claim `source` and its
    `queue` (for the quarantine and the logs), and keeps what it cannot read in its own store
    (`quarantine`)."""

    source: str = ""
    queue: str = ""
    exchange: str = EVENTS

    def __init__(self, claims: Table, service_key: bytes) -> None:
        self.claims = claims
        self.service_key = service_key

    def quarantine(self, session: Session, items: list[tuple[Delivery, str, dict]]) -> None:
        """Keep deliveries this consumer will not act on, each with its reason and field errors
        (`(delivery, "schema_invalid", {"_body": [...]})`), in the service's store."""
        raise NotImplementedError

    def handler_for(self, event_type: Any) -> Handler | None:
        return self._method("handle_", event_type)

    def run_handler_for(self, event_type: Any) -> BatchHandler | None:
        return self._method("batch_", event_type)

    def _method(self, prefix: str, event_type: Any):
        if not isinstance(event_type, str) or not _EVENT_TYPE.fullmatch(event_type):
            return None
        return getattr(self, f"{prefix}{event_type}", None)

    def consume(self, session: Session, deliveries: list[Delivery]) -> int:
        """Apply one batch; commits. Returns how many things the handlers changed."""
        changed = self.dispatch(session, self.fresh(session, self.read(session, deliveries)))
        session.commit()
        return changed

    def read(self, session: Session, deliveries: list[Delivery]) -> list[Event]:
        """The events of a batch the suite signed and that can be read, in order; quarantines the
        others (`unauthenticated`, `schema_invalid`)."""
        events = []
        for delivery in deliveries:
            if not self._authentic(session, delivery):
                continue
            try:
                events.append(_read(delivery))
            except NotAnEvent as exc:
                self.quarantine(session, [(delivery, "schema_invalid", exc.errors)])
        return events

    def fresh(self, session: Session, events: list[Event]) -> list[Event]:
        """The events not applied before, in order: their ids claimed in one statement, a repeat
        of an earlier batch or within this one left out."""
        claimed = claim(session, self.claims, [(self.source, str(event.event_id)) for event in events])
        first = []
        for event in events:
            key = (self.source, str(event.event_id))
            if key in claimed:
                claimed.discard(key)
                first.append(event)
        return first

    def dispatch(self, session: Session, events: list[Event]) -> int:
        """Hand each event to its handler (a run of one type to its `batch_<event_type>`); answers
        the sum of what they changed."""
        changed, run, batch = 0, [], None
        for event in events:
            if run and event.event_type != run[0].event_type:
                changed += batch(session, run) or 0
                run, batch = [], None
            many = self.run_handler_for(event.event_type)
            if many is not None:
                run.append(event)
                batch = many
                continue
            handler = self.handler_for(event.event_type)
            if handler is None:
                log.debug("event ignored", extra={"queue": self.queue, "message_id": str(event.event_id)})
                continue
            changed += handler(session, event) or 0
        if run:
            changed += batch(session, run) or 0
        return changed

    def _authentic(self, session: Session, delivery: Delivery) -> bool:
        """Whether the suite signed this event; quarantines (`unauthenticated`) and logs it if not."""
        try:
            check_event(self.service_key, self.exchange, delivery)
        except Refused as exc:
            log.warning(f"{self.source} event refused", extra={
                "queue": self.queue, "routing_key": delivery.routing_key,
                "message_id": delivery.message_id, "reason": str(exc)})
            self.quarantine(session, [(delivery, "unauthenticated", {"_signature": [f"{exc}."]})])
            return False
        return True
