"""Nameko entrypoints of the records service: archive contents and hospital filing.

Consumes (batching, acknowledge after commit; see `shared.transport.consumer`):

    records.encounters              <- ehr.encounters  encounter.#      hospital encounters
    records.settlements             <- ehr.insurance   settlement.#     the insurer's settlements (same pipeline,
                                                                        `kinds.SETTLEMENT`); links insurance cards
    records.registry-events         <- ehr.events      registry.#       files pending encounters, re-points
                                                                        records (only events the suite signed)
    records.*.dead-letter           <- ehr.dead-letter                  moved to quarantine

Every 30 s, pending encounters are re-resolved (the safety net behind archive_created and
identity_updated).

Publishes (via the outbox): one `ehr.archive-update/1` per filed revision on ehr.archive-updates,
and one `moved` update per record a transfer, merge or unmerge moved to another archive; one
`records.record_changed` event on ehr.events per record filed, amended or entered in error, with
its programme facts (`services/records/facts.py`), for the services that bind `records.#`.

RPC (service `records`):

    list_records("11010500300100001", limit=50, cursor=None)   the timeline: records and attachments
        -> {"items": [{"entry": "record", "record_id": "...", "record_type": "hospital_encounter", ...},
                      {"entry": "attachment", "record_type": "attachment", "attachment": {...}, ...}],
            "next": "MjAyNi0xMS0yNlQw..." | None}
    file_record(archive_no, {"record_type": "visit", "content": {...}, "institution_code": ...}),
    amend_record(archive_no, record_id, {"content": {...}, "reason": "..."})
        -> the record with its revisions and "suggestions" for other forms (Conflict: a second personal_info),
    mark_entered_in_error(archive_no, record_id, reason), get_record(record_id), archive_summary(archive_no, birth_date, sex)
    get_records([record_id, ...]), latest_contents([archive_no, ...], "personal_info")   (the sync sender's batches)
    list_quarantine(status="held", reason=None), show_quarantined(id), replay_quarantined(id, corrected=None),
    discard_quarantined(id, note), list_pending(), propose_link(id, archive_no),
    list_link_proposals("110105003"), link_pending(id, archive_no, confirmed_by=None)
    list_reviews(prefix=None), clear_review(archive_no, record_id)   filings flagged for a look
    add_attachment(archive_no, {"attachment_type": "check_report", "content": "<base64>", ...}),
    list_attachments(archive_no), get_attachment(archive_no, 12),
    mark_attachment_entered_in_error(archive_no, 12, reason), export_archive(archive_no),
    archive_retention(archive_no) -> {"retain_until": "2041-11-20", "basis": "last_service", ...}
    health() -> {"database": "ok"}
"""

from __future__ import annotations

import logging

from nameko.timer import timer

from shared.archive_no import archive_numbers
from shared.config import load_settings
from shared.contracts.records import RPC
from shared.transport.consumer import batch_consume
from shared.transport.providers import CurrentActor, Database, Institutions, Pii, ServiceKey
from shared.db import ping
from shared.errors import EXPECTED_ERRORS, NotFound, ValidationFailed
from shared.transport.topology import (
    RECORDS_ENCOUNTERS, RECORDS_REGISTRY_EVENTS, RECORDS_SETTLEMENTS, dead_letter_queue,
)
from shared.transport.outbox import OutboxRelay
from shared.transport.rpc import BoundedServiceRpc, rpc

from services.records import (
    attachments, card_learning, entries, filing, indicators, mrn_learning, pending, quarantine, registry_events,
    retention, reviews, rules, summary, timeline,
)
from services.records.kinds import SETTLEMENT
from services.records.dependencies import EncounterIntake

log = logging.getLogger(__name__)

SYSTEM_OPERATOR = "system_operator"  # the role the gateway and `ehr pending` act with (gateway/access.py)
PENDING_RETRY_INTERVAL = 30  # seconds between sweeps re-resolving pending encounters


class RecordsService:
    name = "records"

    db = Database("records")
    pii = Pii()
    relay = OutboxRelay("records")
    registry = BoundedServiceRpc("registry")
    institutions = Institutions()
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

    @batch_consume(RECORDS_SETTLEMENTS, batch_size=200, max_wait=0.05)
    def file_settlements(self, deliveries):
        resolve = card_learning.Remembering(self.registry.resolve_identities)
        outcome = filing.file_messages(
            SETTLEMENT, self.db, self.pii, deliveries,
            resolve=resolve,
            institution_kinds=lambda codes: self.institutions.kinds(codes, fetch=self.registry.list_institutions),
            intake=self.intake,
        )
        self.relay()
        card_learning.teach(self.registry.link_identifier, resolve.learnable)
        log.info("settlements processed", extra=vars(outcome))

    @batch_consume(dead_letter_queue(RECORDS_SETTLEMENTS.name), batch_size=50, max_wait=0.2)
    def quarantine_dead_settlements(self, deliveries):
        quarantine.hold_dead_letters(self.db, self.pii, RECORDS_SETTLEMENTS.name, deliveries)

    @batch_consume(RECORDS_REGISTRY_EVENTS, batch_size=50, max_wait=0.05)
    def handle_registry_events(self, deliveries):
        if registry_events.handle_registry_events(self.db, self.pii, self.service_key, deliveries,
                                                  divisions=self._divisions):
            self.relay()

    @batch_consume(dead_letter_queue(RECORDS_ENCOUNTERS.name), batch_size=50, max_wait=0.2)
    def quarantine_dead_encounters(self, deliveries):
        quarantine.hold_dead_letters(self.db, self.pii, RECORDS_ENCOUNTERS.name, deliveries)

    @batch_consume(dead_letter_queue(RECORDS_REGISTRY_EVENTS.name), batch_size=50, max_wait=0.2)
    def quarantine_dead_events(self, deliveries):
        quarantine.hold_dead_letters(self.db, self.pii, RECORDS_REGISTRY_EVENTS.name, deliveries)

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
                     since=None, until=None, kind=None, archive_nos=None):
        call = RPC["list_records"]
        data = call.load({"archive_no": archive_no, "limit": limit, "cursor": cursor, "record_type": record_type,
                          "kind": kind, "institution_code": institution_code, "since": since, "until": until,
                          "archive_nos": archive_nos})
        data["archive_nos"] = data["archive_nos"] or self._archive_numbers(data["archive_no"])
        return call.dump(timeline.list_records(self.db, **data))

    def _archive_numbers(self, archive_no):
        """Every number leading to the archive, as the registry knows it (just this one when the
        registry knows no such archive: its records may still be here)."""
        try:
            return archive_numbers(self.registry.get_archive(archive_no))
        except NotFound:
            return [archive_no]

    # -- records entered on the archive's forms ------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("payload",))
    def file_record(self, archive_no, payload, record_id=None, origin="form"):
        call = RPC["file_record"]
        data = call.load({"archive_no": archive_no, "payload": payload, "record_id": record_id, "origin": origin})
        archive = self.registry.get_archive(data["archive_no"])
        record, suggestions = entries.file_form_record(
            self.db, archive, data["payload"], self.actor, record_id=data["record_id"] and str(data["record_id"]),
            origin=data["origin"])
        self.relay()
        return call.dump({**entries.get_record(self.db, record.id), "suggestions": suggestions})

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("payload",))
    def amend_record(self, archive_no, record_id, payload):
        call = RPC["amend_record"]
        data = call.load({"archive_no": archive_no, "record_id": record_id, "payload": payload})
        archive = self.registry.get_archive(data["archive_no"])
        _, suggestions = entries.amend_form_record(self.db, archive, data["record_id"], data["payload"], self.actor)
        self.relay()
        return call.dump({**entries.get_record(self.db, data["record_id"]), "suggestions": suggestions})

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def mark_entered_in_error(self, archive_no, record_id, reason):
        call = RPC["mark_entered_in_error"]
        data = call.load({"archive_no": archive_no, "record_id": record_id, "reason": reason})
        archive = self.registry.get_archive(data["archive_no"])
        entries.mark_entered_in_error(self.db, archive, data["record_id"], data["reason"], self.actor)
        self.relay()
        return call.dump(entries.get_record(self.db, data["record_id"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def archive_summary(self, archive_no, birth_date=None, sex=None):
        call = RPC["archive_summary"]
        data = call.load({"archive_no": archive_no, "birth_date": birth_date, "sex": sex})
        archive = ({"archive_no": data["archive_no"], "birth_date": data["birth_date"].isoformat(), "sex": data["sex"]}
                   if data["birth_date"] else self.registry.get_archive(data["archive_no"]))
        return call.dump(summary.archive_summary(self.db, archive))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_record(self, record_id):
        call = RPC["get_record"]
        return call.dump(entries.get_record(self.db, call.load({"record_id": record_id})["record_id"]))

    # -- attachments, the resident's copy, retention ------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_records(self, record_ids):
        """`get_record` for a batch (the sync sender's)."""
        call = RPC["get_records"]
        return call.dump(entries.get_records(self.db, call.load({"record_ids": record_ids})["record_ids"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def latest_contents(self, archive_nos, record_type):
        call = RPC["latest_contents"]
        data = call.load({"archive_nos": archive_nos, "record_type": record_type})
        return call.dump(entries.latest_contents(self.db, data["archive_nos"], data["record_type"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("payload",))
    def add_attachment(self, archive_no, payload):
        call = RPC["add_attachment"]
        data = call.load({"archive_no": archive_no, "payload": payload})
        archive = self.registry.get_archive(data["archive_no"])
        return call.dump(attachments.add_attachment(self.db, archive, data["payload"], self.actor,
                                                    load_settings().max_attachment_bytes))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_attachments(self, archive_no):
        call = RPC["list_attachments"]
        data = call.load({"archive_no": archive_no})
        return call.dump(attachments.list_attachments(self.db, self.registry.get_archive(data["archive_no"])))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_attachment(self, archive_no, attachment_id):
        call = RPC["get_attachment"]
        data = call.load({"archive_no": archive_no, "attachment_id": attachment_id})
        archive = self.registry.get_archive(data["archive_no"])
        return call.dump(attachments.get_attachment(self.db, archive, data["attachment_id"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def mark_attachment_entered_in_error(self, archive_no, attachment_id, reason):
        call = RPC["mark_attachment_entered_in_error"]
        data = call.load({"archive_no": archive_no, "attachment_id": attachment_id, "reason": reason})
        archive = self.registry.get_archive(data["archive_no"])
        return call.dump(attachments.mark_entered_in_error(self.db, archive, data["attachment_id"], data["reason"],
                                                           self.actor))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def export_archive(self, archive_no):
        call = RPC["export_archive"]
        data = call.load({"archive_no": archive_no})
        return call.dump(attachments.export_archive(self.db, self.registry.get_archive(data["archive_no"])))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def archive_retention(self, archive_no):
        call = RPC["archive_retention"]
        data = call.load({"archive_no": archive_no})
        return call.dump(retention.archive_retention(self.db, self.registry.get_archive(data["archive_no"])))

    # -- operators: quarantine and pending encounters ------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_quarantine(self, status="held", reason=None, limit=50, cursor=None):
        call = RPC["list_quarantine"]
        data = call.load({"status": status, "reason": reason, "limit": limit, "cursor": cursor})
        return call.dump(quarantine.list_quarantine(self.db, **data))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def show_quarantined(self, quarantine_id):
        call = RPC["show_quarantined"]
        data = call.load({"quarantine_id": quarantine_id})
        return call.dump(quarantine.show_quarantined(self.db, self.pii, data["quarantine_id"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("corrected",))
    def replay_quarantined(self, quarantine_id, corrected=None):
        call = RPC["replay_quarantined"]
        data = call.load({"quarantine_id": quarantine_id, "corrected": corrected})
        result = quarantine.replay_quarantined(self.db, self.pii, data["quarantine_id"], data["corrected"],
                                               self.actor.user)
        self.relay()
        return call.dump(result)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def discard_quarantined(self, quarantine_id, note):
        call = RPC["discard_quarantined"]
        data = call.load({"quarantine_id": quarantine_id, "note": note})
        return call.dump(quarantine.discard_quarantined(self.db, data["quarantine_id"], self.actor.user, data["note"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_pending(self, status="pending", limit=50, cursor=None):
        call = RPC["list_pending"]
        return call.dump(pending.list_pending(self.db, **call.load({"status": status, "limit": limit,
                                                                       "cursor": cursor})))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def propose_link(self, pending_id, archive_no):
        call = RPC["propose_link"]
        data = call.load({"pending_id": pending_id, "archive_no": archive_no})
        archive = self._active_archive(data["archive_no"])
        return call.dump(pending.propose_link(self.db, data["pending_id"], archive["archive_no"], self.actor.user))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_link_proposals(self, prefix, limit=50, cursor=None):
        call = RPC["list_link_proposals"]
        return call.dump(pending.list_link_proposals(self.db, **call.load({"prefix": prefix, "limit": limit,
                                                                              "cursor": cursor})))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def link_pending(self, pending_id, archive_no, confirmed_by=None):
        call = RPC["link_pending"]
        data = call.load({"pending_id": pending_id, "archive_no": archive_no, "confirmed_by": confirmed_by})
        if self.actor.role == SYSTEM_OPERATOR and not data["confirmed_by"]:
            raise ValidationFailed("an operator alone does not link an encounter to an archive", {
                "confirmed_by": ["Name the clinician who confirmed the match, or propose the link instead."]})
        archive = self._active_archive(data["archive_no"])
        result = pending.link_pending(self.db, self.pii, data["pending_id"], archive["archive_no"], self.actor.user,
                                         confirmed_by=data["confirmed_by"], learn=self.registry.link_identifier)
        self.relay()
        return call.dump(result)

    def _active_archive(self, archive_no):
        archive = self.registry.get_archive(archive_no)  # NotFound / ValidationFailed as they are
        rules.require_writable(archive)
        return archive

    # -- filings flagged for review --------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_reviews(self, prefix=None, limit=50, cursor=None):
        call = RPC["list_reviews"]
        return call.dump(reviews.list_reviews(self.db, **call.load({"prefix": prefix, "limit": limit,
                                                                    "cursor": cursor})))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def clear_review(self, archive_no, record_id):
        call = RPC["clear_review"]
        data = call.load({"archive_no": archive_no, "record_id": record_id})
        return call.dump(reviews.clear_review(self.db, data["archive_no"], data["record_id"], self.actor))

    # -- the work indicators (counts per village) ----------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def archive_activity(self, prefix, month_ends):
        call = RPC["archive_activity"]
        data = call.load({"prefix": prefix, "month_ends": month_ends})
        return call.dump(indicators.archive_activity(self.db, data["prefix"], data["month_ends"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def health(self):
        call = RPC["health"]
        call.load({})
        return call.dump(ping(self.db))
