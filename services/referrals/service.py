"""Nameko entrypoints of the referrals service: 双向转诊 (referrals out and back) and 会诊
(consultations) between institutions.

Consumes (batching, acknowledge after commit; see `shared.transport.consumer`):

    referrals.events               <- ehr.events  records.record_changed, programmes.referral_suggested
    referrals.answers              <- ehr.referral-answers  answer.#   (hospitals' answers)
    referrals.*.dead-letter        <- ehr.dead-letter                  kept in quarantined_messages

Every minute, the expiry sweep (`sweep.py`: one process at a time, an advisory lock) and the
filings owed to the archive (`filings.py`: the 转出单, 回转单 and 会诊记录表, through records'
`file_record`, until records has them).

Publishes (via the outbox): on ehr.events referrals.referral_requested, _accepted, _rejected,
_expired, _cancelled, _arrived, _back_referred, _closed, consultation_requested, _answered; on
ehr.referrals `referral.<receiver>.<message_type>` (`ehr.referral/1`) to the receiving institution.

RPC (service `referrals`; `shared.contracts.referrals.RPC`), the side from the acting institution:

    create_referral({"archive_no": ..., "to_institution_code": "H1101050001", "urgency": "urgent",
                     "reason": {"impression": "..."}})                       -> the referral, requested
    get_referral(7), list_referrals(box="inbox", state=None, overdue=False, limit=50, cursor=None)
    send_referral(7, {...}), accept_referral(7, {"note": ...}), reject_referral(7, {"reason": ...}),
    cancel_referral(7, {"reason": ...}), mark_arrived(7, {}), back_refer(7, {"diagnosis": ..., ...}),
    close_referral(7, {"reason": ...})
    request_consultation({...}), answer_consultation(3, {...}), get_consultation(3), list_consultations(...)
    open_referral("11010510110100007", "H1101050001")   -> {"referral_id": 7, "record_ids": [...]}
    run_sweep(now=None, referral_id=None), health()

Operators (`ehr referrals ...`, `/api/v1/referral-quarantine`, `/api/v1/referral-filings`):

    list_quarantine(status="held", reason=None, limit=50, cursor=None), show_quarantined(3),
    replay_quarantined(3, corrected=None), discard_quarantined(3, "医院测试消息")
    list_filings(status="pending", limit=50, cursor=None), retry_filings(filing_id=None)
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from nameko.timer import timer

from shared.contracts.referrals import RPC
from shared.db import ping
from shared.errors import EXPECTED_ERRORS, NotFound
from shared.transport.consumer import batch_consume
from shared.transport.outbox import OutboxRelay
from shared.transport.providers import CurrentActor, Database, Institutions, ServiceKey
from shared.transport.rpc import BoundedServiceRpc, rpc
from shared.transport.topology import REFERRALS_ANSWERS, REFERRALS_EVENTS, dead_letter_queue

from services.referrals import answers, consultations, events, filings, lifecycle, quarantine, referrals, sweep
from services.referrals.dependencies import AnswerAccounts, ReferralQueues

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 60  # seconds; an urgent referral's deadline is 24 hours, so a minute late at worst
FILING_INTERVAL = 10
FILE_AT_ONCE_TIMEOUT = 3  # seconds a request waits for its filing before leaving it to the timer


class ReferralsService:
    name = "referrals"

    db = Database("referrals")
    relay = OutboxRelay("referrals")
    registry = BoundedServiceRpc("registry")
    records = BoundedServiceRpc("records")
    # The filing a user's request owes the archive is tried at once, but briefly: with records
    # down the answer must not wait out EHR_RPC_TIMEOUT; the timer files it when records is back.
    records_at_once = BoundedServiceRpc("records", timeout=FILE_AT_ONCE_TIMEOUT)
    actor = CurrentActor()
    service_key = ServiceKey()
    institutions = Institutions()
    accounts = AnswerAccounts()
    queues = ReferralQueues()

    # -- consumers and timers ------------------------------------------------------------------

    @batch_consume(REFERRALS_EVENTS, batch_size=100, max_wait=0.05)
    def handle_events(self, deliveries):
        if events.handle_events(self.db, self.service_key, deliveries):
            self.relay()

    @batch_consume(REFERRALS_ANSWERS, batch_size=50, max_wait=0.05)
    def handle_answers(self, deliveries):
        outcome = answers.handle_answers(self.db, deliveries, self.accounts)
        if outcome["applied"]:
            self.relay()
            self._file_owed()
        log.info("referral answers processed", extra=outcome)

    @batch_consume(dead_letter_queue(REFERRALS_EVENTS.name), batch_size=50, max_wait=0.2)
    def quarantine_dead_events(self, deliveries):
        quarantine.hold_dead_letters(self.db, self.service_key, REFERRALS_EVENTS.name, deliveries, events=True)

    @batch_consume(dead_letter_queue(REFERRALS_ANSWERS.name), batch_size=50, max_wait=0.2)
    def quarantine_dead_answers(self, deliveries):
        quarantine.hold_dead_letters(self.db, self.service_key, REFERRALS_ANSWERS.name, deliveries, events=False)

    @timer(interval=SWEEP_INTERVAL)
    def expiry_sweep(self):
        outcome = sweep.sweep(self.db, datetime.now(timezone.utc))
        if outcome["expired"]:
            self.relay()
            log.info("referrals expired", extra=outcome)

    @timer(interval=FILING_INTERVAL)
    def file_pending(self):
        self._file_owed()

    def _file_record(self, archive_no, payload, record_id, records=None):
        return (records or self.records).file_record(archive_no, payload, record_id=record_id, origin="referral")

    def _file_owed(self, subject=None):
        """File what the archive is owed now (a failure waits for the timer). A subject's filing
        is the tail of a user's request or a hospital's answer: tried with the short timeout."""
        if subject is None:
            return filings.file_due(self.db, self._file_record)
        return filings.file_due(self.db, lambda archive_no, payload, record_id: self._file_record(
            archive_no, payload, record_id, records=self.records_at_once), subject=subject)

    def _archive(self, archive_no):
        return self.registry.get_archive(archive_no)  # NotFound / ValidationFailed as the registry says

    def _require_institution(self, code, field="to_institution_code"):
        if code and not self.institutions.known({code}, fetch=self.registry.list_institutions):
            raise NotFound("no such institution", {field: code})

    def _referral(self, referral):
        return referrals.view(self.db, referral)

    # -- referrals -----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def create_referral(self, payload):
        call = RPC["create_referral"]
        data = call.load({"payload": payload})["payload"]
        self._require_institution(data["to_institution_code"])
        archive = self._archive(data["archive_no"])
        self.queues(data["to_institution_code"])
        referral = referrals.create(self.db, archive, data, self.actor)
        self.relay()
        self._file_owed(f"referral:{referral.id}")
        return call.dump(self._referral(referrals.get(self.db, referral.id)))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_referral(self, referral_id):
        call = RPC["get_referral"]
        data = call.load({"referral_id": referral_id})
        return call.dump(self._referral(referrals.visible(self.db, data["referral_id"], self.actor)))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_referrals(self, box="inbox", state=None, overdue=False, limit=50, cursor=None):
        call = RPC["list_referrals"]
        data = call.load({"box": box, "state": state, "overdue": overdue, "limit": limit, "cursor": cursor})
        return call.dump(referrals.list_referrals(self.db, self.actor.institution_code, **data))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def send_referral(self, referral_id, payload):
        call = RPC["send_referral"]
        data = call.load({"referral_id": referral_id, "payload": payload})
        referral = referrals.visible(self.db, data["referral_id"], self.actor)
        target = data["payload"].get("to_institution_code") or referral.to_institution_code
        self._require_institution(target)
        archive = self._archive(referral.archive_no)
        self.db.rollback()
        if target:
            self.queues(target)
        referral = referrals.send(self.db, data["referral_id"], archive, data["payload"], self.actor)
        self.relay()
        self._file_owed(f"referral:{referral.id}")
        return call.dump(self._referral(referral))

    def _change(self, call, action, referral_id, payload, reason_key=None, back=False):
        data = call.load({"referral_id": referral_id, "payload": payload})
        body = data["payload"]
        referral = referrals.change(self.db, data["referral_id"], action, self.actor,
                                    reason=body.get(reason_key) if reason_key else None,
                                    back=body if back else None)
        self.relay()
        if back:
            self._file_owed(f"referral:{referral.id}")
        return call.dump(self._referral(referral))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def accept_referral(self, referral_id, payload):
        return self._change(RPC["accept_referral"], lifecycle.ACCEPT, referral_id, payload, "note")

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def reject_referral(self, referral_id, payload):
        return self._change(RPC["reject_referral"], lifecycle.REJECT, referral_id, payload, "reason")

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def cancel_referral(self, referral_id, payload):
        return self._change(RPC["cancel_referral"], lifecycle.CANCEL, referral_id, payload, "reason")

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def mark_arrived(self, referral_id, payload):
        return self._change(RPC["mark_arrived"], lifecycle.ARRIVE, referral_id, payload, "note")

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def back_refer(self, referral_id, payload):
        return self._change(RPC["back_refer"], lifecycle.BACK_REFER, referral_id, payload, back=True)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def close_referral(self, referral_id, payload):
        return self._change(RPC["close_referral"], lifecycle.CLOSE, referral_id, payload, "reason")

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def open_referral(self, archive_no, institution_code):
        call = RPC["open_referral"]
        data = call.load({"archive_no": archive_no, "institution_code": institution_code})
        return call.dump(referrals.open_for(self.db, data["archive_no"], data["institution_code"]))

    # -- consultations -------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def request_consultation(self, payload):
        call = RPC["request_consultation"]
        data = call.load({"payload": payload})["payload"]
        self._require_institution(data["to_institution_code"])
        archive = self._archive(data["archive_no"])
        self.queues(data["to_institution_code"])
        row = consultations.request(self.db, archive, data, self.actor)
        self.relay()
        return call.dump(consultations.view(row))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def answer_consultation(self, consultation_id, payload):
        call = RPC["answer_consultation"]
        data = call.load({"consultation_id": consultation_id, "payload": payload})
        row = consultations.answer(self.db, data["consultation_id"], data["payload"], self.actor)
        self.relay()
        self._file_owed(f"consultation:{row.id}")
        return call.dump(consultations.view(consultations.get(self.db, row.id)))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_consultation(self, consultation_id):
        call = RPC["get_consultation"]
        data = call.load({"consultation_id": consultation_id})
        return call.dump(consultations.view(consultations.visible(self.db, data["consultation_id"], self.actor)))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_consultations(self, box="inbox", state=None, limit=50, cursor=None):
        call = RPC["list_consultations"]
        data = call.load({"box": box, "state": state, "limit": limit, "cursor": cursor})
        return call.dump(consultations.list_consultations(self.db, self.actor.institution_code, **data))

    # -- operations ----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def run_sweep(self, now=None, referral_id=None):
        call = RPC["run_sweep"]
        data = call.load({"now": now, "referral_id": referral_id})
        outcome = sweep.sweep(self.db, data["now"] or datetime.now(timezone.utc), referral_id=data["referral_id"])
        self.relay()
        return call.dump(outcome)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def retry_filings(self, filing_id=None):
        call = RPC["retry_filings"]
        data = call.load({"filing_id": filing_id})
        if data["filing_id"] is not None:
            filings.get(self.db, data["filing_id"])  # 404 for an unknown one
        return call.dump(filings.file_due(self.db, self._file_record, every=True, filing_id=data["filing_id"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_filings(self, status="pending", limit=50, cursor=None):
        call = RPC["list_filings"]
        data = call.load({"status": status, "limit": limit, "cursor": cursor})
        return call.dump(filings.list_filings(self.db, **data))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_quarantine(self, status="held", reason=None, limit=50, cursor=None):
        call = RPC["list_quarantine"]
        data = call.load({"status": status, "reason": reason, "limit": limit, "cursor": cursor})
        return call.dump(quarantine.list_quarantine(self.db, **data))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def show_quarantined(self, quarantine_id):
        call = RPC["show_quarantined"]
        data = call.load({"quarantine_id": quarantine_id})
        return call.dump(quarantine.show(self.db, data["quarantine_id"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("corrected",))
    def replay_quarantined(self, quarantine_id, corrected=None):
        call = RPC["replay_quarantined"]
        data = call.load({"quarantine_id": quarantine_id, "corrected": corrected})
        entry = quarantine.replay(self.db, self.accounts, data["quarantine_id"], data["corrected"], self.actor.user)
        self.relay()
        return call.dump(entry)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def discard_quarantined(self, quarantine_id, note):
        call = RPC["discard_quarantined"]
        data = call.load({"quarantine_id": quarantine_id, "note": note})
        return call.dump(quarantine.discard(self.db, data["quarantine_id"], self.actor.user, data["note"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def health(self):
        call = RPC["health"]
        call.load({})
        return call.dump(ping(self.db))
