"""Nameko entrypoints of the programmes service: the key-population programmes (重点人群健康管理).

Consumes (batching, acknowledge after commit; see `shared.transport.consumer`):

    programmes.events              <- ehr.events  registry.#, records.record_changed
    programmes.events.dead-letter  <- ehr.dead-letter             kept in quarantined_events

Every hour, the sweep (`sweep.py`): the elderly enrolled as they reach 65 in the year, what falls
due announced once per due date; one process at a time (an advisory lock).

Publishes (via the outbox, on ehr.events): programmes.enrolled, .enrolment_ended,
.follow_up_due, .follow_up_overdue, .referral_suggested.

RPC (service `programmes`; `shared.contracts.programmes.RPC`):

    enrol("11010510110100007", {"programme": "hypertension", "enrolled_on": "2026-12-01"})
        -> {"archive_no": "11010510110100007", "programmes": [{"programme": "hypertension", ...}]}
    list_programmes(archive_no), end_enrolment(archive_no, "hypertension", {"reason": "cured", "date": ...}),
    resume_enrolment(archive_no, "hypertension", {"date": ...})
    worklist({"institution_code": "T1101051011", "prefix": "110105101"}, kind="all", limit=50)
    list_suggestions(scope), get_suggestion(7), confirm_suggestion(7, {}), dismiss_suggestion(7, "诊断已排除")
    programme_figures({"prefix": "110105"}, 2026), run_sweep(today=None), health()
"""

from __future__ import annotations

import logging

from nameko.timer import timer

from shared.contracts.programmes import RPC
from shared.db import ping
from shared.errors import EXPECTED_ERRORS
from shared.transport.consumer import batch_consume
from shared.transport.outbox import OutboxRelay
from shared.transport.providers import CurrentActor, Database, ServiceKey
from shared.transport.rpc import BoundedServiceRpc, rpc
from shared.transport.topology import PROGRAMMES_EVENTS, dead_letter_queue
from shared import clock

from services.programmes import enrolments, events, figures, quarantine, suggestions, sweep, worklist
from services.programmes.residents import adopt, lookup

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 3600  # seconds; the sweep is idempotent, so hourly is "daily" at worst an hour late


class ProgrammesService:
    name = "programmes"

    db = Database("programmes")
    relay = OutboxRelay("programmes")
    registry = BoundedServiceRpc("registry")
    actor = CurrentActor()
    service_key = ServiceKey()

    @batch_consume(PROGRAMMES_EVENTS, batch_size=100, max_wait=0.05)
    def handle_events(self, deliveries):
        if events.handle_events(self.db, self.service_key, deliveries):
            self.relay()

    @batch_consume(dead_letter_queue(PROGRAMMES_EVENTS.name), batch_size=50, max_wait=0.2)
    def quarantine_dead_events(self, deliveries):
        quarantine.hold_dead_letters(self.db, self.service_key, PROGRAMMES_EVENTS.name, deliveries)

    @timer(interval=SWEEP_INTERVAL)
    def daily_sweep(self):
        outcome = sweep.sweep(self.db, clock.today())
        self.relay()
        log.info("programmes swept", extra=outcome)

    def _resident(self, archive_no):
        """The archive's resident, locked; one this service has not heard of (an archive from
        before it ran) is adopted from the registry's answer."""
        resident = lookup(self.db, archive_no)
        if resident is None or not resident.known:
            archive = self.registry.get_archive(archive_no)  # NotFound as the registry says it
            resident = lookup(self.db, archive["archive_no"])
            if resident is None or not resident.known:
                adopt(self.db, {**archive, "profile": {key: archive.get(key) for key in (
                    "birth_date", "sex", "residence_type", "responsible_doctor")}})
                resident = lookup(self.db, archive["archive_no"])
        return resident

    def _programmes_of(self, resident):
        return enrolments.programmes_of(self.db, resident)

    # -- enrolment ---------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def enrol(self, archive_no, payload):
        call = RPC["enrol"]
        data = call.load({"archive_no": archive_no, "payload": payload})
        resident = self._resident(data["archive_no"])
        enrolments.enrol(self.db, resident, data["payload"], self.actor)
        answer = self._programmes_of(resident)
        self.db.commit()
        self.relay()
        return call.dump(answer)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_programmes(self, archive_no):
        call = RPC["list_programmes"]
        data = call.load({"archive_no": archive_no})
        resident = self._resident(data["archive_no"])
        answer = self._programmes_of(resident)
        self.db.commit()
        return call.dump(answer)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def end_enrolment(self, archive_no, programme, payload):
        call = RPC["end_enrolment"]
        data = call.load({"archive_no": archive_no, "programme": programme, "payload": payload})
        resident = self._resident(data["archive_no"])
        enrolments.end(self.db, resident, data["programme"], data["payload"], self.actor)
        answer = self._programmes_of(resident)
        self.db.commit()
        self.relay()
        return call.dump(answer)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def resume_enrolment(self, archive_no, programme, payload):
        call = RPC["resume_enrolment"]
        data = call.load({"archive_no": archive_no, "programme": programme, "payload": payload})
        resident = self._resident(data["archive_no"])
        enrolments.resume(self.db, resident, data["programme"], data["payload"], self.actor)
        answer = self._programmes_of(resident)
        self.db.commit()
        self.relay()
        return call.dump(answer)

    # -- work lists, suggestions, figures -------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def worklist(self, scope, kind="all", responsible_doctor=None, village_code=None, programme=None, limit=50,
                 cursor=None, today=None):
        call = RPC["worklist"]
        data = call.load({"scope": scope, "kind": kind, "responsible_doctor": responsible_doctor,
                          "village_code": village_code, "programme": programme, "limit": limit, "cursor": cursor,
                          "today": today})
        return call.dump(worklist.worklist(self.db, **{**data, "today": data["today"] or clock.today()}))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_suggestions(self, scope, status="open", programme=None, village_code=None, limit=50, cursor=None):
        call = RPC["list_suggestions"]
        data = call.load({"scope": scope, "status": status, "programme": programme, "village_code": village_code,
                          "limit": limit, "cursor": cursor})
        return call.dump(suggestions.list_suggestions(self.db, **data))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_suggestion(self, suggestion_id):
        call = RPC["get_suggestion"]
        data = call.load({"suggestion_id": suggestion_id})
        return call.dump(suggestions.suggestion_view(*suggestions.get(self.db, data["suggestion_id"])))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def confirm_suggestion(self, suggestion_id, payload):
        call = RPC["confirm_suggestion"]
        data = call.load({"suggestion_id": suggestion_id, "payload": payload})
        resident = suggestions.confirm(self.db, data["suggestion_id"], data["payload"], self.actor)
        answer = self._programmes_of(resident)
        self.db.commit()
        self.relay()
        return call.dump(answer)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def dismiss_suggestion(self, suggestion_id, reason):
        call = RPC["dismiss_suggestion"]
        data = call.load({"suggestion_id": suggestion_id, "reason": reason})
        answer = suggestions.dismiss(self.db, data["suggestion_id"], data["reason"], self.actor)
        self.db.commit()
        return call.dump(answer)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def programme_figures(self, scope, year):
        call = RPC["programme_figures"]
        data = call.load({"scope": scope, "year": year})
        return call.dump(figures.figures(self.db, data["scope"], data["year"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def run_sweep(self, today=None):
        call = RPC["run_sweep"]
        data = call.load({"today": today})
        outcome = sweep.sweep(self.db, data["today"] or clock.today())
        self.relay()
        return call.dump(outcome)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def health(self):
        call = RPC["health"]
        call.load({})
        return call.dump(ping(self.db))
