"""Nameko entrypoints of the sync service: standard documents of every archive and record, sent to
the regional health information platform (区域平台上传).

Consumes (batching, acknowledge after commit; see `shared.transport.consumer`):

    sync.events              <- ehr.events  registry.#, records.record_changed   (`events`)
    sync.events.dead-letter  <- ehr.dead-letter                                  kept in quarantined_messages

Every second, each of two senders (`sending`): a batch of the documents whose turn it is (one per
archive), claimed with `FOR UPDATE SKIP LOCKED` (any number of senders and processes side by
side), their facts gathered for the batch at once through the registry's
`identities_for_documents` (proved with EHR_SYNC_KEY) and records' `get_records` and
`latest_contents`, built (`building`, EHR_PLATFORM_FORMAT) and sent concurrently over keep-alive
connections (`platform`), the answers kept in one transaction; a record entered in error has its
documents withdrawn from the platform in the same rounds (a withdrawal row: DELETE, no facts
gathered). Every two seconds, a page of a running backfill (`backfill`).

RPC (service `sync`; `shared.contracts.sync.RPC`), for operators (`ehr sync ...`):

    status(), list_documents(state="rejected", limit=50), resend_document("record:8f3e...:v2"),
    start_backfill("2026-01-01"), reconcile(custodian=None, type_code=None), run_sender(), health()
"""

from __future__ import annotations

import logging

import eventlet
from nameko.timer import timer

from shared.contracts.sync import RPC
from shared.db import ping
from shared.errors import EXPECTED_ERRORS
from shared.signing import documents_identity_proof
from shared.transport.consumer import batch_consume
from shared.transport.providers import CurrentActor, Database, ServiceKey, SyncKey
from shared.transport.rpc import BoundedServiceRpc, rpc
from shared.transport.together import together
from shared.transport.topology import SYNC_EVENTS, dead_letter_queue

from services.sync import backfill, building, events, facts, operators, sending
from services.sync.dependencies import Platform

log = logging.getLogger(__name__)

SEND_INTERVAL = 1.0      # seconds between two sender passes (a pass goes on while it moves documents)
BACKFILL_INTERVAL = 2.0  # seconds between two pages of a backfill


class SyncService:
    name = "sync"

    db = Database("sync")
    registry = BoundedServiceRpc("registry")
    records = BoundedServiceRpc("records")
    platform = Platform()
    actor = CurrentActor()
    service_key = ServiceKey()
    sync_key = SyncKey()

    @batch_consume(SYNC_EVENTS, batch_size=100, max_wait=0.05)
    def handle_events(self, deliveries):
        events.handle_events(self.db, self.service_key, deliveries)

    @batch_consume(dead_letter_queue(SYNC_EVENTS.name), batch_size=50, max_wait=0.2)
    def quarantine_dead_events(self, deliveries):
        events.hold_dead_letters(self.db, self.service_key, deliveries)

    # -- the sender ----------------------------------------------------------------------------

    def _identities(self, archive_nos):
        return self.registry.identities_for_documents(archive_nos, documents_identity_proof(self.sync_key, archive_nos))

    def _personal_infos(self, archive_nos):
        return self.records.latest_contents(archive_nos, "personal_info")["contents"]

    def _gather(self, rows):
        return facts.gather_batch(rows, self._identities, self.records.get_records, self._personal_infos,
                                  at_once=together)

    def _build(self, document):
        return building.build(document, self.platform.settings.format)

    def _send(self):
        pool = eventlet.GreenPool(sending.CONCURRENCY)  # documents in flight to the platform at once
        return sending.send_all_due(self.db, self._gather, self._build, self.platform.client,
                                    self.platform.settings.max_attempts, spawn=pool.spawn)

    def _send_and_log(self):
        outcome = self._send()
        if outcome.get("claimed"):
            log.info("documents sent", extra=outcome)

    @timer(interval=SEND_INTERVAL)
    def send_documents(self):
        self._send_and_log()

    @timer(interval=SEND_INTERVAL)
    def send_documents_beside(self):
        """A second sender in the process, with its own rows (SKIP LOCKED, as between processes):
        while one round waits for the registry, records or the platform, the other's builds run."""
        self._send_and_log()

    @timer(interval=BACKFILL_INTERVAL)
    def advance_backfill(self):
        outcome = backfill.advance(
            self.db, lambda: [d["code"] for d in self.registry.list_divisions("village")],
            lambda village, cursor: self.registry.search_archives({"village_code": village}, limit=50, cursor=cursor),
            lambda archive_no, since, cursor: self.records.list_records(archive_no, limit=200, cursor=cursor,
                                                                        since=since))
        if outcome:
            log.info("backfill advanced", extra=outcome)

    # -- operators -----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def status(self):
        call = RPC["status"]
        call.load({})
        return call.dump(operators.status(self.db))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_documents(self, state=None, type_code=None, archive_no=None, limit=50, cursor=None):
        call = RPC["list_documents"]
        data = call.load({"state": state, "type_code": type_code, "archive_no": archive_no, "limit": limit,
                          "cursor": cursor})
        return call.dump(operators.list_documents(self.db, **data))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def resend_document(self, document):
        call = RPC["resend_document"]
        data = call.load({"document": str(document)})
        return call.dump(operators.resend(self.db, data["document"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def start_backfill(self, since):
        call = RPC["start_backfill"]
        data = call.load({"since": since})
        return call.dump(backfill.view(backfill.start(self.db, data["since"], self.actor.user)))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def reconcile(self, custodian=None, type_code=None):
        call = RPC["reconcile"]
        data = call.load({"custodian": custodian, "type_code": type_code})
        return call.dump(operators.reconcile(self.db, self.platform.client, **data))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def run_sender(self):
        call = RPC["run_sender"]
        call.load({})
        return call.dump(self._send())

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def health(self):
        call = RPC["health"]
        call.load({})
        return call.dump(ping(self.db))
