"""What the programmes service does with the suite's events (`programmes.events` <- `ehr.events`
`registry.#` and `records.record_changed`), once each and only for events the suite signed
(`shared.events.EventConsumer`); the effects and the events they announce commit together.

    archive_created, identity_updated, archive_terminated, archive_reactivated,
    archive_transferred, archives_merged, archives_unmerged      -> `residents`
    record_changed                                                -> `service_records`

Other event types are acknowledged and ignored. What it cannot read, or an unsigned event, is
kept in `quarantined_events` and changes nothing.

A run of `record_changed` in a batch (the bulk of the traffic: every follow-up filed) is applied
together by `service_records.record_changed_many`, in order and with the effects one by one would
have, in a handful of statements instead of some ten an event; the event ids of a batch are
claimed in one statement. Any other event ends the run first, so the order of the queue holds.

    handle_events(session, service_key, deliveries)   -> 4 (things changed)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.actor import SYSTEM
from shared.delivery import Delivery
from shared.claims import claim
from shared.events import EventConsumer, NotAnEvent, _read
from shared.messaging import PROGRAMMES_EVENTS

from services.programmes import quarantine, residents, service_records
from services.programmes.models import processed_messages


class ProgrammeEvents(EventConsumer):
    source, queue = "events", PROGRAMMES_EVENTS

    def __init__(self, service_key: bytes) -> None:
        super().__init__(processed_messages, service_key)

    def quarantine(self, session: Session, items: list[tuple[Delivery, str, dict]]) -> None:
        quarantine.hold(session, self.queue, items)

    def handle_archive_created(self, session: Session, event: Any) -> int:
        return residents.archive_created(session, event.data)

    def handle_identity_updated(self, session: Session, event: Any) -> int:
        return residents.identity_updated(session, event.data)

    def handle_archive_terminated(self, session: Session, event: Any) -> int:
        return residents.archive_terminated(session, event.data)

    def handle_archive_reactivated(self, session: Session, event: Any) -> int:
        return residents.archive_reactivated(session, event.data)

    def handle_archive_transferred(self, session: Session, event: Any) -> int:
        return residents.archive_transferred(session, event.data)

    def handle_archives_merged(self, session: Session, event: Any) -> int:
        return residents.archives_merged(session, event.data)

    def handle_archives_unmerged(self, session: Session, event: Any) -> int:
        return residents.archives_unmerged(session, event.data)

    def handle_record_changed(self, session: Session, event: Any) -> int:
        if event.service != "records":
            return 0
        return service_records.record_changed(session, event.data, SYSTEM)

    def consume(self, session: Session, deliveries: list[Delivery]) -> int:
        """As `EventConsumer.consume` (authenticity, reading, one claim an event id, dispatch,
        one commit), with the claims of the batch made in one statement and each run of records'
        `record_changed` applied together."""
        read: list[Any] = []
        for delivery in deliveries:
            if not self._authentic(session, delivery):
                continue
            try:
                read.append(_read(delivery))
            except NotAnEvent as exc:
                self.quarantine(session, [(delivery, "schema_invalid", exc.errors)])
        claimed = claim(session, self.claims, [(self.source, str(event.event_id)) for event in read])
        changed, run = 0, []
        for event in read:
            key = (self.source, str(event.event_id))
            if key not in claimed:
                continue  # a repeat (of an earlier batch, or of this one)
            claimed.discard(key)
            if event.event_type == "record_changed" and event.service == "records":
                run.append(event.data)
                continue
            changed += service_records.record_changed_many(session, run, SYSTEM)
            run = []
            handler = self.handler_for(event.event_type)
            if handler is not None:
                changed += handler(session, event) or 0
        changed += service_records.record_changed_many(session, run, SYSTEM)
        session.commit()
        return changed


def handle_events(session: Session, service_key: bytes, deliveries: list[Delivery]) -> int:
    """Apply a batch of events once each; commits. Returns how many things changed."""
    return ProgrammeEvents(service_key).consume(session, deliveries)
