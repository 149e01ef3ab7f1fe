"""What the programmes service does with the suite's events (`programmes.events` <- `ehr.events`
`registry.#` and `records.record_changed`), once each and only for events the suite signed
(`shared.events.EventConsumer`); the effects and the events they announce commit together.

    archive_created, identity_updated, archive_terminated, archive_reactivated,
    archive_transferred, archives_merged, archives_unmerged      -> `residents`
    record_changed                                                -> `service_records`

Other event types are acknowledged and ignored. What it cannot read, or an unsigned event, is
kept in `quarantined_events` and changes nothing.

A run of `record_changed` in a batch (the bulk of the traffic: every follow-up filed) is applied
together by `service_records.record_changed_many` (`batch_record_changed`: the base hands a run
of one type over at once), in order and with the effects one by one would have, in a handful of
statements instead of some ten an event. Any other event ends the run first, so the order of the
queue holds.

    handle_events(session, service_key, deliveries)   -> 4 (things changed)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.actor import SYSTEM
from shared.delivery import Delivery
from shared.events import EventConsumer
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

    def batch_record_changed(self, session: Session, events: list[Any]) -> int:
        return service_records.record_changed_many(
            session, [event.data for event in events if event.service == "records"], SYSTEM)


def handle_events(session: Session, service_key: bytes, deliveries: list[Delivery]) -> int:
    """Apply a batch of events once each; commits. Returns how many things changed."""
    return ProgrammeEvents(service_key).consume(session, deliveries)
