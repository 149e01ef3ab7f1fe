"""The gateway: the suite's HTTP edge. It owns no clinical data; every answer comes from the
services over RPC. Access control and the audit trail attach here (see docs/architecture.md).

    POST /api/v1/archives                         -> registry.create_archive
    GET  /api/v1/archives/<archive_no>            -> registry.get_archive
    GET  /api/v1/archives/<archive_no>/summary    -> records.archive_summary (首页)
    GET  /api/v1/archives/<archive_no>/records    -> records.list_records
    POST /api/v1/archives/<archive_no>/records    -> records.file_record (a form entry)
    GET  .../records/<id>, POST .../records/<id>/revisions | /entered-in-error -> records
    GET  /api/v1/villages | /institutions         -> registry.list_divisions / list_institutions
    GET  /api/v1/quarantine[/<id>], POST .../<id>/replay | /discard   -> records (operators)
    GET  /api/v1/pending, POST /api/v1/pending/<id>/link             -> records (operators)
    GET  /api/v1/health                           -> each service's health
    GET  /api/v1/openapi.json                     -> the OpenAPI document
"""

from __future__ import annotations

import json

import eventlet

from shared import api
from shared.contracts import load_input
from shared.errors import NotFound, ValidationFailed
from shared.rpc import BoundedServiceRpc

from services.gateway.http import http
from services.gateway.openapi import build_spec

_SPEC = build_spec()
HEALTH_TIMEOUT = 3.0


def _json_body(request, empty_ok: bool = False) -> dict:
    raw = request.get_data(as_text=True)
    if empty_ok and not raw.strip():
        return {}
    try:
        body = json.loads(raw or "null")
    except ValueError:
        raise ValidationFailed("invalid JSON", {"_body": ["Not valid JSON."]}) from None
    if not isinstance(body, dict):
        raise ValidationFailed("invalid body", {"_body": ["Must be a JSON object."]})
    return body


def _int_arg(request, name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed("invalid query parameter", {name: ["Not a valid integer."]}) from None


class GatewayService:
    name = "gateway"

    registry = BoundedServiceRpc("registry")
    records = BoundedServiceRpc("records")

    @http("POST", "/api/v1/archives")
    def create_archive(self, request):
        return 201, self.registry.create_archive(_json_body(request))

    @http("GET", "/api/v1/archives/<string:archive_no>")
    def get_archive(self, request, archive_no):
        return self.registry.get_archive(archive_no)

    @http("GET", "/api/v1/archives/<string:archive_no>/summary")
    def archive_summary(self, request, archive_no):
        return self.records.archive_summary(archive_no)

    @http("GET", "/api/v1/archives/<string:archive_no>/records")
    def list_records(self, request, archive_no):
        self.registry.get_archive(archive_no)  # 400/404 for a bad or unknown archive
        args = request.args
        return self.records.list_records(
            archive_no, limit=_int_arg(request, "limit", 50), cursor=args.get("cursor"),
            record_type=args.get("record_type"), institution_code=args.get("institution_code"),
            since=args.get("since"), until=args.get("until"))

    @http("POST", "/api/v1/archives/<string:archive_no>/records")
    def file_record(self, request, archive_no):
        data = load_input(api.RecordCreateSchema(), _json_body(request))
        return 201, self.records.file_record(archive_no, data)

    @http("GET", "/api/v1/archives/<string:archive_no>/records/<string:record_id>")
    def get_record(self, request, archive_no, record_id):
        record = self.records.get_record(record_id)
        if record["archive_no"] != archive_no:
            raise NotFound("no such record", {"record_id": record_id})
        return record

    @http("POST", "/api/v1/archives/<string:archive_no>/records/<string:record_id>/revisions")
    def amend_record(self, request, archive_no, record_id):
        data = load_input(api.RecordAmendSchema(), _json_body(request))
        return 201, self.records.amend_record(archive_no, record_id, data)

    @http("POST", "/api/v1/archives/<string:archive_no>/records/<string:record_id>/entered-in-error")
    def mark_entered_in_error(self, request, archive_no, record_id):
        data = load_input(api.EnteredInErrorSchema(), _json_body(request))
        return self.records.mark_entered_in_error(archive_no, record_id, data["reason"])

    # -- operators -------------------------------------------------------------------------

    @http("GET", "/api/v1/quarantine")
    def list_quarantine(self, request):
        status = request.args.get("status", "held")
        return self.records.list_quarantine(
            status=None if status == "all" else status, reason=request.args.get("reason"),
            limit=_int_arg(request, "limit", 50), cursor=request.args.get("cursor"))

    @http("GET", "/api/v1/quarantine/<int:quarantine_id>")
    def show_quarantined(self, request, quarantine_id):
        return self.records.show_quarantined(quarantine_id)

    @http("POST", "/api/v1/quarantine/<int:quarantine_id>/replay")
    def replay_quarantined(self, request, quarantine_id):
        data = load_input(api.ReplaySchema(), _json_body(request, empty_ok=True))
        return self.records.replay_quarantined(quarantine_id, corrected=data["corrected"])

    @http("POST", "/api/v1/quarantine/<int:quarantine_id>/discard")
    def discard_quarantined(self, request, quarantine_id):
        data = load_input(api.DiscardSchema(), _json_body(request))
        return self.records.discard_quarantined(quarantine_id, data["note"])

    @http("GET", "/api/v1/pending")
    def list_pending(self, request):
        return self.records.list_pending(limit=_int_arg(request, "limit", 50), cursor=request.args.get("cursor"))

    @http("POST", "/api/v1/pending/<int:pending_id>/link")
    def link_pending(self, request, pending_id):
        data = load_input(api.LinkPendingSchema(), _json_body(request))
        return self.records.link_pending(pending_id, data["archive_no"])

    @http("GET", "/api/v1/villages")
    def list_villages(self, request):
        return self.registry.list_divisions(level="village")

    @http("GET", "/api/v1/institutions")
    def list_institutions(self, request):
        return self.registry.list_institutions()

    @http("GET", "/api/v1/health")
    def health(self, request):
        checks = {}
        for service, client in (("registry", self.registry), ("records", self.records)):
            try:
                with eventlet.Timeout(HEALTH_TIMEOUT):
                    client.health()
                checks[service] = "ok"
            except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - any failure is "down"
                checks[service] = f"unavailable ({type(exc).__name__})"
        healthy = all(v == "ok" for v in checks.values())
        return (200 if healthy else 503), {"status": "ok" if healthy else "degraded", "checks": checks}

    @http("GET", "/api/v1/openapi.json")
    def openapi(self, request):
        return _SPEC
