"""Nameko entrypoints of the records service: archive contents and hospital filing.

Consumes (batching, acknowledge after commit; see `shared.consumer`):

    records.encounters              <- ehr.encounters  encounter.#      hospital encounters
    records.registry-events         <- ehr.events      registry.#       files pending encounters
    records.*.dead-letter           <- ehr.dead-letter                  moved to quarantine

Every 30 s, pending encounters are re-resolved (the safety net behind archive_created).

Publishes (via the outbox): one `ehr.archive-update/1` per filed revision on ehr.archive-updates.

RPC (service `records`):

    list_records("11010500300100001", limit=50, cursor=None)
        -> {"items": [{"record_id": "...", "record_type": "hospital_encounter", "source": {...}, ...}],
            "next": "MjAyNi0xMS0yNlQw..." | None}
    health() -> {"database": "ok"}
"""

from __future__ import annotations

import logging

from nameko.rpc import rpc
from nameko.timer import timer

from shared.consumer import batch_consume
from shared.db import Database, ping
from shared.errors import EXPECTED_ERRORS
from shared.messaging import RECORDS_ENCOUNTERS, RECORDS_REGISTRY_EVENTS, dead_letter_queue
from shared.outbox import OutboxRelay
from shared.pii import Pii
from shared.rpc import BoundedServiceRpc

from services.records import filing, pending, timeline
from services.records.dependencies import InstitutionDirectory

log = logging.getLogger(__name__)

PENDING_RETRY_INTERVAL = 30  # seconds between sweeps re-resolving pending encounters


class RecordsService:
    name = "records"

    db = Database("records")
    pii = Pii()
    relay = OutboxRelay("records")
    registry = BoundedServiceRpc("registry")
    institutions = InstitutionDirectory()

    @batch_consume(RECORDS_ENCOUNTERS, batch_size=200, max_wait=0.05)
    def file_encounters(self, deliveries):
        outcome = filing.file_encounters(
            self.db, self.pii, deliveries,
            resolve=self.registry.resolve_identities,
            known_institutions=lambda codes: self.institutions(codes, fetch=self.registry.list_institutions),
        )
        self.relay()
        log.info("encounters processed", extra=vars(outcome))

    @batch_consume(RECORDS_REGISTRY_EVENTS, batch_size=50, max_wait=0.05)
    def handle_registry_events(self, deliveries):
        if pending.handle_registry_events(self.db, self.pii, deliveries):
            self.relay()

    @batch_consume(dead_letter_queue(RECORDS_ENCOUNTERS.name), batch_size=50, max_wait=0.2)
    def quarantine_dead_encounters(self, deliveries):
        pending.quarantine_dead_letters(self.db, self.pii, RECORDS_ENCOUNTERS.name, deliveries)

    @batch_consume(dead_letter_queue(RECORDS_REGISTRY_EVENTS.name), batch_size=50, max_wait=0.2)
    def quarantine_dead_events(self, deliveries):
        pending.quarantine_dead_letters(self.db, self.pii, RECORDS_REGISTRY_EVENTS.name, deliveries)

    @timer(interval=PENDING_RETRY_INTERVAL)
    def retry_pending(self):
        if pending.retry_pending(self.db, self.pii, resolve=self.registry.resolve_identities):
            self.relay()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_records(self, archive_no, limit=50, cursor=None, record_type=None):
        return timeline.list_records(self.db, archive_no, limit=limit, cursor=cursor, record_type=record_type)

    @rpc
    def health(self):
        return ping(self.db)
