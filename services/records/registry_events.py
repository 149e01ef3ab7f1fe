"""What records does with the registry's events (`records.registry-events` <- `ehr.events`
`registry.#`), once each and only for events the suite signed (`shared.events.EventConsumer`):

    archive_created       {"archive_no": "11010500300100001", "identity_keys": ["8f3a..."], ...}
                          files the resident's pending encounters (`pending.file_pending_for`)
    identity_updated      {"archive_no", "fields": ["id_type", "id_number"], "identity_keys": ["8f3a..."]}
                          the same: a newborn's ID number attached (`attach_id_number`) or an ID
                          number corrected makes the archive findable by a new key, and the
                          encounters parked under it are filed at once, not at the next sweep
    archive_transferred   {"archive_no", "former_archive_no", ...}     re-points records (`repointing`)
    archives_merged       {"merge_id", "archive_no", "merged_archive_no", ...}
    archives_unmerged     {"merge_id", "archive_no", "restored_archive_no", "restored_identity_keys"}

Other event types are acknowledged and ignored. An event published by anyone else (say by hand to
`ehr.events` with a broker account that should not have been able to) is quarantined as
`unauthenticated` and logged with its message id and the failed check, and changes nothing.

    handle_registry_events(session, pii, service_key, deliveries, divisions=...)   -> 3 (records filed or moved)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.delivery import Delivery
from shared.events import EventConsumer
from shared.messaging import RECORDS_REGISTRY_EVENTS
from shared.pii import PiiBox

from services.records import quarantine, repointing
from services.records.models import processed_messages
from services.records.pending import file_pending_for
from services.records.revisions import DivisionLookup


class RegistryEvents(EventConsumer):
    """The registry's events as records applies them; `divisions` flags far filings (see
    `rules.review_for`)."""

    source = "registry"
    queue = RECORDS_REGISTRY_EVENTS

    def __init__(self, pii: PiiBox, service_key: bytes, divisions: DivisionLookup | None = None) -> None:
        super().__init__(processed_messages, service_key)
        self.pii = pii
        self.divisions = divisions

    def quarantine(self, session: Session, items: list[tuple[Delivery, str, dict]]) -> None:
        quarantine.hold(session, self.pii, self.queue, items)

    def handle_archive_created(self, session: Session, event: dict[str, Any]) -> int:
        return self._file_pending(session, event.data)

    def handle_identity_updated(self, session: Session, event: dict[str, Any]) -> int:
        # Any identity change carries the key as it now is; when it did not change, nothing is
        # parked under it (its encounters were filed when the archive was found).
        return self._file_pending(session, event.data)

    def _file_pending(self, session: Session, data: dict[str, Any]) -> int:
        keys = [bytes.fromhex(k) for k in data.get("identity_keys", [])]
        return file_pending_for(session, self.pii, keys, data["archive_no"], self.divisions)

    def handle_archive_transferred(self, session: Session, event: dict[str, Any]) -> int:
        return repointing.transfer(session, event.data, event.event_id)

    def handle_archives_merged(self, session: Session, event: dict[str, Any]) -> int:
        return repointing.merge(session, event.data, event.event_id)

    def handle_archives_unmerged(self, session: Session, event: dict[str, Any]) -> int:
        return repointing.unmerge(session, event.data, event.event_id)


def handle_registry_events(session: Session, pii: PiiBox, service_key: bytes, deliveries: list[Delivery],
                           divisions: DivisionLookup | None = None) -> int:
    """Apply registry events once each (files pending encounters, re-points records and stages
    their `moved` updates); commits. Returns how many records were filed or moved."""
    return RegistryEvents(pii, service_key, divisions).consume(session, deliveries)
