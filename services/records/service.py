"""Nameko entrypoints of the records service: archive contents and hospital filing.

Consumes (batching, acknowledge after commit; see `shared.consumer`):

    records.encounters              <- ehr.encounters  encounter.#      hospital encounters
    records.registry-events         <- ehr.events      registry.#       files pending encounters, re-points
                                                                        records (only events the suite signed)
    records.*.dead-letter           <- ehr.dead-letter                  moved to quarantine

Every 30 s, pending encounters are re-resolved (the safety net behind archive_created).

Publishes (via the outbox): one `ehr.archive-update/1` per filed revision on ehr.archive-updates,
and one `moved` update per record a transfer, merge or unmerge moved to another archive.

RPC (service `records`):

    list_records("11010500300100001", limit=50, cursor=None)
        -> {"items": [{"record_id": "...", "record_type": "hospital_encounter", "source": {...}, ...}],
            "next": "MjAyNi0xMS0yNlQw..." | None}
    file_record(archive_no, {"record_type": "visit", "content": {...}, "institution_code": ...}),
    amend_record(archive_no, record_id, {"content": {...}, "reason": "..."}),
    mark_entered_in_error(archive_no, record_id, reason), get_record(record_id), archive_summary(archive_no)
    list_quarantine(status="held", reason=None), show_quarantined(id), replay_quarantined(id, corrected=None),
    discard_quarantined(id, note), list_pending(), propose_link(id, archive_no),
    list_link_proposals("110105003"), link_pending(id, archive_no, confirmed_by=None)
    list_reviews(prefix=None), clear_review(archive_no, record_id)   filings flagged for a look
    health() -> {"database": "ok"}
"""

from __future__ import annotations

import logging

from nameko.timer import timer

from shared.consumer import batch_consume
from shared.db import Database, ping
from shared.actor import CurrentActor
from shared.errors import EXPECTED_ERRORS, InvalidTransition, ValidationFailed
from shared.messaging import RECORDS_ENCOUNTERS, RECORDS_REGISTRY_EVENTS, dead_letter_queue
from shared.outbox import OutboxRelay
from shared.pii import Pii
from shared.rpc import BoundedServiceRpc, rpc
from shared.signing import ServiceKey

from services.records import entries, filing, mrn_learning, operations, pending, reviews, summary, timeline
from services.records.dependencies import EncounterIntake, InstitutionDirectory

log = logging.getLogger(__name__)

SYSTEM_OPERATOR = "system_operator"  # the role the gateway and `ehr pending` act with (gateway/access.py)
PENDING_RETRY_INTERVAL = 30  # seconds between sweeps re-resolving pending encounters


class RecordsService:
    name = "records"

    db = Database("records")
    pii = Pii()
    relay = OutboxRelay("records")
    registry = BoundedServiceRpc("registry")
    institutions = InstitutionDirectory()
    intake = EncounterIntake()
    actor = CurrentActor()
    service_key = ServiceKey()

    @batch_consume(RECORDS_ENCOUNTERS, batch_size=200, max_wait=0.05)
    def file_encounters(self, deliveries):
        resolve = mrn_learning.Remembering(self.registry.resolve_identities)
        outcome = filing.file_encounters(
            self.db, self.pii, deliveries,
            resolve=resolve,
            known_institutions=lambda codes: self.institutions.known(codes, fetch=self.registry.list_institutions),
            intake=self.intake,
            divisions=self._divisions,
        )
        self.relay()
        mrn_learning.teach(self.registry.learn_medical_record_numbers, resolve.learnable)
        log.info("encounters processed", extra=vars(outcome))

    @batch_consume(RECORDS_REGISTRY_EVENTS, batch_size=50, max_wait=0.05)
    def handle_registry_events(self, deliveries):
        if pending.handle_registry_events(self.db, self.pii, self.service_key, deliveries,
                                          divisions=self._divisions):
            self.relay()

    @batch_consume(dead_letter_queue(RECORDS_ENCOUNTERS.name), batch_size=50, max_wait=0.2)
    def quarantine_dead_encounters(self, deliveries):
        pending.quarantine_dead_letters(self.db, self.pii, RECORDS_ENCOUNTERS.name, deliveries)

    @batch_consume(dead_letter_queue(RECORDS_REGISTRY_EVENTS.name), batch_size=50, max_wait=0.2)
    def quarantine_dead_events(self, deliveries):
        pending.quarantine_dead_letters(self.db, self.pii, RECORDS_REGISTRY_EVENTS.name, deliveries)

    @timer(interval=PENDING_RETRY_INTERVAL)
    def retry_pending(self):
        resolve = mrn_learning.Remembering(self.registry.resolve_identities)
        if pending.retry_pending(self.db, self.pii, resolve=resolve, divisions=self._divisions):
            self.relay()
        mrn_learning.teach(self.registry.learn_medical_record_numbers, resolve.learnable)

    def _divisions(self, codes):
        """The division codes of these institutions (cached), by which far filings are flagged."""
        return self.institutions.divisions(codes, fetch=self.registry.list_institutions)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_records(self, archive_no, limit=50, cursor=None, record_type=None, institution_code=None,
                     since=None, until=None):
        return timeline.list_records(self.db, archive_no, limit=limit, cursor=cursor, record_type=record_type,
                                     institution_code=institution_code, since=since, until=until)

    # -- records entered on the archive's forms ------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("payload",))
    def file_record(self, archive_no, payload):
        archive = self.registry.get_archive(archive_no)
        record = entries.file_form_record(self.db, archive, payload, self.actor)
        self.relay()
        return entries.get_record(self.db, record.id)

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("payload",))
    def amend_record(self, archive_no, record_id, payload):
        archive = self.registry.get_archive(archive_no)
        entries.amend_form_record(self.db, archive, record_id, payload, self.actor)
        self.relay()
        return entries.get_record(self.db, record_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def mark_entered_in_error(self, archive_no, record_id, reason):
        archive = self.registry.get_archive(archive_no)
        entries.mark_entered_in_error(self.db, archive, record_id, reason, self.actor)
        self.relay()
        return entries.get_record(self.db, record_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def archive_summary(self, archive_no):
        return summary.archive_summary(self.db, self.registry.get_archive(archive_no))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_record(self, record_id):
        return entries.get_record(self.db, record_id)

    # -- operators: quarantine and pending encounters ------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_quarantine(self, status="held", reason=None, limit=50, cursor=None):
        return operations.list_quarantine(self.db, status=status, reason=reason, limit=limit, cursor=cursor)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def show_quarantined(self, quarantine_id):
        return operations.show_quarantined(self.db, self.pii, quarantine_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("corrected",))
    def replay_quarantined(self, quarantine_id, corrected=None):
        result = operations.replay_quarantined(self.db, self.pii, quarantine_id, corrected, self.actor.user)
        self.relay()
        return result

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def discard_quarantined(self, quarantine_id, note):
        return operations.discard_quarantined(self.db, quarantine_id, self.actor.user, note)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_pending(self, status="pending", limit=50, cursor=None):
        return operations.list_pending(self.db, status=status, limit=limit, cursor=cursor)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def propose_link(self, pending_id, archive_no):
        archive = self._active_archive(archive_no)
        return operations.propose_link(self.db, pending_id, archive["archive_no"], self.actor.user)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_link_proposals(self, prefix, limit=50, cursor=None):
        return operations.list_link_proposals(self.db, prefix, limit=limit, cursor=cursor)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def link_pending(self, pending_id, archive_no, confirmed_by=None):
        if self.actor.role == SYSTEM_OPERATOR and not confirmed_by:
            raise ValidationFailed("an operator alone does not link an encounter to an archive", {
                "confirmed_by": ["Name the clinician who confirmed the match, or propose the link instead."]})
        archive = self._active_archive(archive_no)
        result = operations.link_pending(self.db, self.pii, pending_id, archive["archive_no"], self.actor.user,
                                         confirmed_by=confirmed_by, learn=self.registry.link_identifier)
        self.relay()
        return result

    def _active_archive(self, archive_no):
        archive = self.registry.get_archive(archive_no)  # NotFound / ValidationFailed as they are
        if archive["status"] != "active":
            raise InvalidTransition("the archive is not active", {"archive_no": archive_no})
        return archive

    # -- filings flagged for review --------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_reviews(self, prefix=None, limit=50, cursor=None):
        return reviews.list_reviews(self.db, prefix=prefix, limit=limit, cursor=cursor)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def clear_review(self, archive_no, record_id):
        return reviews.clear_review(self.db, archive_no, record_id, self.actor)

    @rpc
    def health(self):
        return ping(self.db)
