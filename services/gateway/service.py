"""The gateway: the suite's HTTP edge. It owns no clinical data; every answer comes from the
services over RPC. It owns who may ask (users, API keys, roles, grants) and the audit trail of
what was asked, in its own database (see `gate.py` and `access.py`).

    POST /api/v1/auth/token                       -> a bearer token (public; throttled per address and user)
    POST /api/v1/auth/revoke                      -> sign the caller out everywhere (every token of theirs)
    POST /api/v1/archives                         -> registry.create_archive
    GET  /api/v1/archives/<archive_no>            -> registry.get_archive
    POST /api/v1/archives/<archive_no>/access     -> a time-limited grant outside one's scope
                                                     (announced as gateway.access_granted)
    GET  /api/v1/grants                           -> grants taken on archives of one's jurisdiction
    GET  /api/v1/archives/<archive_no>/summary    -> records.archive_summary (首页)
    GET  /api/v1/archives/<archive_no>/records    -> records.list_records
    POST /api/v1/archives/<archive_no>/records    -> records.file_record (a form entry)
    GET  .../records/<id>, POST .../records/<id>/revisions | /entered-in-error -> records
    POST /api/v1/archives/search                  -> registry.search_archives, within one's jurisdiction
    PATCH /api/v1/archives/<archive_no>           -> registry.update_identity
    POST /api/v1/archives/<archive_no>/id-number  -> registry.attach_id_number (a newborn's archive)
    GET  .../revisions | .../possible-duplicates | .../transfers | .../merges   -> registry
    POST .../termination | .../reactivation | .../transfers (request)          -> registry
    GET  /api/v1/transfers (incoming), GET /api/v1/transfers/<id>,
    POST /api/v1/transfers/<id>/accept | /reject | /cancel                     -> registry
    POST /api/v1/merges, GET /api/v1/merges/<id>, POST /api/v1/merges/<id>/unmerge -> registry
    GET  /api/v1/villages | /institutions         -> registry.list_divisions / list_institutions
    GET  /api/v1/stats                            -> archives per village of one's jurisdiction
    GET  /api/v1/quarantine[/<id>], POST .../<id>/replay | /discard   -> records (operators)
    GET  /api/v1/pending, POST /api/v1/pending/<id>/proposal        -> records (operators)
    GET  /api/v1/pending/proposals, POST /api/v1/pending/<id>/link  -> records (clinicians in scope)
    GET  /api/v1/reviews, POST .../records/<id>/review               -> records: far filings to look at
    GET  /api/v1/health                           -> each service's health (public): the suite's
    GET  /api/v1/health/live                      -> this gateway process answers (public)
    GET  /api/v1/health/ready                     -> its database, broker, migrations (public)
    GET  /                                        -> redirects to /api/v1/docs
    GET  /api/v1/openapi.json | /api/v1/docs      -> the OpenAPI document, as JSON and as HTML (public)

Every entrypoint but the public ones is `@guarded(action)`: authenticated, checked against the
role matrix and the caller's scope, and audited, whatever its outcome.
"""

from __future__ import annotations

import json
import re
from functools import wraps

import eventlet
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from shared.config import load_settings
from shared.contracts.fields import PageQuerySchema, load_input
from shared.contracts.gateway import (
    AccessGrantRequestSchema, GrantPageSchema, GrantQuerySchema, TokenRequestSchema, TransferQuerySchema,
)
from shared.contracts.records import (
    DiscardSchema, EnteredInErrorSchema, LinkPendingSchema, QuarantineQuerySchema, RecordAmendSchema,
    RecordCreateSchema, RecordQuerySchema, ReplaySchema,
)
from shared.contracts.registry import MergeRequestSchema, OptionalReasonSchema, ReasonSchema
from shared.errors import NotFound, ValidationFailed
from shared.transport.health import is_ready, readiness
from shared.transport.outbox import OutboxRelay
from shared.transport.rpc import BoundedServiceRpc

from services.gateway import access, stats
from services.gateway.access import Action
from services.gateway.descriptor import GATEWAY
from services.gateway.docs_page import render
from services.gateway.gate import Gate
from services.gateway.http import http
from services.gateway.openapi import build_spec

_SPEC = build_spec()
_DOCS = render(_SPEC)
HEALTH_TIMEOUT = 3.0
MAX_ID = 2 ** 63 - 1  # the largest id a database row can have
_RECORD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def guarded(action: Action):
    """Run the entrypoint through the gate: authenticate, authorise, check scope, audit."""

    def decorate(method):
        @wraps(method)
        def checked(self, request, **params):
            return self.gate.guard(action, request, params, lambda: method(self, request, **params),
                                   registry=self.registry)

        return checked

    return decorate


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


def _query(request, schema):
    return load_input(schema, request.args.to_dict())


def _record_id(record_id: str) -> str:
    # Record ids are ours (UUIDs); anything else cannot name a record, and is kept away from
    # the database (a NUL character, say, is not even a valid PostgreSQL string).
    if not _RECORD_ID.match(record_id):
        raise NotFound("no such record", {"record_id": record_id[:64].replace("\x00", "")})
    return record_id


def _entry_id(value: int, what: str) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFound(f"no such {what}", {f"{what}_id": value})
    return value


class GatewayService:
    name = "gateway"

    registry = BoundedServiceRpc("registry")
    records = BoundedServiceRpc("records")
    gate = Gate()
    relay = OutboxRelay("gateway")

    @http("POST", "/api/v1/auth/token")
    def sign_in(self, request):
        data = load_input(TokenRequestSchema(), _json_body(request))
        return self.gate.sign_in(data["username"], data["password"], request.remote_addr)

    @http("POST", "/api/v1/auth/revoke")
    @guarded(access.AUTH_REVOKE)
    def revoke_tokens(self, request):
        _json_body(request, empty_ok=True)
        return self.gate.revoke_tokens()

    @http("POST", "/api/v1/archives")
    @guarded(access.ARCHIVE_CREATE)
    def create_archive(self, request):
        body = _json_body(request)
        self.gate.require_village(body.get("village_code"))
        self.gate.require_responsible_doctor(body.get("responsible_doctor"), body.get("institution_code"))
        with self.gate.disclosing():  # the registry names no archive outside the caller's scope
            archive = self.registry.create_archive(body, scope=self.gate.scope())
        self.gate.note(archive_no=archive["archive_no"])
        return 201, archive

    @http("GET", "/api/v1/archives/<string:archive_no>")
    @guarded(access.ARCHIVE_READ)
    def get_archive(self, request, archive_no):
        return self.gate.archive

    @http("POST", "/api/v1/archives/<string:archive_no>/access")
    @guarded(access.ACCESS_GRANT)
    def grant_access(self, request, archive_no):
        data = load_input(AccessGrantRequestSchema(), _json_body(request))
        grant = self.gate.grant(archive_no, data["reason"])
        self.relay()
        return (201 if grant["out_of_scope"] else 200), grant

    @http("GET", "/api/v1/grants")
    @guarded(access.GRANTS_LIST)
    def list_grants(self, request):
        query = _query(request, GrantQuerySchema())
        return GrantPageSchema().dump(self.gate.grants(**query))

    @http("GET", "/api/v1/archives/<string:archive_no>/summary")
    @guarded(access.SUMMARY_READ)
    def archive_summary(self, request, archive_no):
        return self.records.archive_summary(self.gate.archive["archive_no"])

    @http("GET", "/api/v1/archives/<string:archive_no>/records")
    @guarded(access.RECORDS_LIST)
    def list_records(self, request, archive_no):
        # A former (transferred) or merged-away number lists the records of the archive it leads to.
        return self.records.list_records(self.gate.archive["archive_no"], **_query(request, RecordQuerySchema()))

    @http("POST", "/api/v1/archives/<string:archive_no>/records")
    @guarded(access.RECORD_CREATE)
    def file_record(self, request, archive_no):
        data = load_input(RecordCreateSchema(), _json_body(request))
        record = self.records.file_record(archive_no, data)
        self.gate.note(target=f"record:{record['record_id']}")
        return 201, record

    @http("GET", "/api/v1/archives/<string:archive_no>/records/<string:record_id>")
    @guarded(access.RECORD_READ)
    def get_record(self, request, archive_no, record_id):
        record = self.records.get_record(_record_id(record_id))
        if record["archive_no"] != self.gate.archive["archive_no"]:
            raise NotFound("no such record", {"record_id": record_id})
        return record

    @http("POST", "/api/v1/archives/<string:archive_no>/records/<string:record_id>/revisions")
    @guarded(access.RECORD_AMEND)
    def amend_record(self, request, archive_no, record_id):
        data = load_input(RecordAmendSchema(), _json_body(request))
        return 201, self.records.amend_record(archive_no, _record_id(record_id), data)

    @http("POST", "/api/v1/archives/<string:archive_no>/records/<string:record_id>/entered-in-error")
    @guarded(access.RECORD_MARK_IN_ERROR)
    def mark_entered_in_error(self, request, archive_no, record_id):
        data = load_input(EnteredInErrorSchema(), _json_body(request))
        return self.records.mark_entered_in_error(archive_no, _record_id(record_id), data["reason"])

    # -- the archive lifecycle (registry) ----------------------------------------------------

    @http("POST", "/api/v1/archives/search")
    @guarded(access.ARCHIVE_SEARCH)
    def search_archives(self, request):
        # POST, so that ID numbers and names stay out of URLs and the logs that keep them.
        filters = _json_body(request)
        page = load_input(PageQuerySchema(), {k: filters.pop(k) for k in ("limit", "cursor") if k in filters})
        return self.registry.search_archives(filters, limit=page["limit"], cursor=page["cursor"],
                                             scope=self.gate.scope())

    @http("PATCH", "/api/v1/archives/<string:archive_no>")
    @guarded(access.ARCHIVE_UPDATE)
    def update_identity(self, request, archive_no):
        changes = _json_body(request)
        reason = changes.pop("reason", None)
        if "responsible_doctor" in changes:
            self.gate.require_responsible_doctor(changes["responsible_doctor"], self.gate.archive["institution_code"])
        with self.gate.disclosing():
            return self.registry.update_identity(self.gate.archive["archive_no"], changes, reason=reason,
                                                 scope=self.gate.scope())

    @http("POST", "/api/v1/archives/<string:archive_no>/id-number")
    @guarded(access.ARCHIVE_ID_ATTACH)
    def attach_id_number(self, request, archive_no):
        with self.gate.disclosing():  # a 409 names the archive holding the number, if in scope
            return self.registry.attach_id_number(self.gate.archive["archive_no"], _json_body(request),
                                                  scope=self.gate.scope())

    @http("GET", "/api/v1/archives/<string:archive_no>/revisions")
    @guarded(access.REVISIONS_LIST)
    def list_revisions(self, request, archive_no):
        return self.registry.list_revisions(self.gate.archive["archive_no"])

    @http("POST", "/api/v1/archives/<string:archive_no>/termination")
    @guarded(access.ARCHIVE_TERMINATE)
    def terminate_archive(self, request, archive_no):
        return self.registry.terminate_archive(self.gate.archive["archive_no"], _json_body(request))

    @http("POST", "/api/v1/archives/<string:archive_no>/reactivation")
    @guarded(access.ARCHIVE_REACTIVATE)
    def reactivate_archive(self, request, archive_no):
        data = load_input(ReasonSchema(), _json_body(request))
        return self.registry.reactivate_archive(self.gate.archive["archive_no"], data["reason"])

    @http("GET", "/api/v1/archives/<string:archive_no>/possible-duplicates")
    @guarded(access.DUPLICATES_REVIEW)
    def possible_duplicates(self, request, archive_no):
        return self.registry.possible_duplicates(self.gate.archive["archive_no"], scope=self.gate.scope())

    @http("POST", "/api/v1/archives/<string:archive_no>/transfers")
    @guarded(access.TRANSFER_REQUEST)
    def request_transfer(self, request, archive_no):
        transfer = self.registry.request_transfer(self.gate.archive["archive_no"], _json_body(request))
        self.gate.note(target=f"transfer:{transfer['transfer_id']}")
        return 201, transfer

    @http("GET", "/api/v1/archives/<string:archive_no>/transfers")
    @guarded(access.TRANSFERS_LIST)
    def list_archive_transfers(self, request, archive_no):
        return self.registry.list_transfers(archive_no=self.gate.archive["archive_no"], limit=200)

    @http("GET", "/api/v1/transfers")
    @guarded(access.TRANSFERS_INCOMING)
    def list_incoming_transfers(self, request):
        query = _query(request, TransferQuerySchema())
        return self.registry.list_transfers(to_institution_code=self.gate.caller.institution_code,
                                            status=query["status"], limit=query["limit"])

    @http("GET", "/api/v1/transfers/<int:transfer_id>")
    @guarded(access.TRANSFER_READ)
    def get_transfer(self, request, transfer_id):
        return self._transfer(transfer_id, access.SENDING, access.RECEIVING)

    @http("POST", "/api/v1/transfers/<int:transfer_id>/accept")
    @guarded(access.TRANSFER_ACCEPT)
    def accept_transfer(self, request, transfer_id):
        _json_body(request, empty_ok=True)
        transfer = self._transfer(transfer_id, access.RECEIVING)
        return self.registry.accept_transfer(transfer["transfer_id"])

    @http("POST", "/api/v1/transfers/<int:transfer_id>/reject")
    @guarded(access.TRANSFER_REJECT)
    def reject_transfer(self, request, transfer_id):
        data = load_input(ReasonSchema(), _json_body(request))
        transfer = self._transfer(transfer_id, access.RECEIVING)
        return self.registry.reject_transfer(transfer["transfer_id"], data["reason"])

    @http("POST", "/api/v1/transfers/<int:transfer_id>/cancel")
    @guarded(access.TRANSFER_CANCEL)
    def cancel_transfer(self, request, transfer_id):
        data = load_input(OptionalReasonSchema(), _json_body(request, empty_ok=True))
        transfer = self._transfer(transfer_id, access.SENDING)
        return self.registry.cancel_transfer(transfer["transfer_id"], data["reason"])

    def _transfer(self, transfer_id: int, *sides: str) -> dict:
        transfer = self.registry.get_transfer(_entry_id(transfer_id, "transfer"))
        return self.gate.transfer_side(transfer, *sides)

    @http("GET", "/api/v1/archives/<string:archive_no>/merges")
    @guarded(access.MERGES_LIST)
    def list_merges(self, request, archive_no):
        return self.registry.list_merges(self.gate.archive["archive_no"])

    @http("POST", "/api/v1/merges")
    @guarded(access.ARCHIVE_MERGE)
    def merge_archives(self, request):
        data = load_input(MergeRequestSchema(), _json_body(request))
        surviving = self.gate.archive_in_scope(data["surviving_archive_no"], "surviving_archive_no")
        self.gate.note(archive_no=surviving["archive_no"], target=f"archive:{data['merged_archive_no']}")
        self.gate.archive_in_scope(data["merged_archive_no"], "merged_archive_no")
        merge = self.registry.merge_archives(surviving["archive_no"], data["merged_archive_no"], data["reason"])
        self.gate.note(target=f"merge:{merge['merge_id']}")
        return 201, merge

    @http("GET", "/api/v1/merges/<int:merge_id>")
    @guarded(access.MERGE_READ)
    def get_merge(self, request, merge_id):
        return self._merge(merge_id)

    @http("POST", "/api/v1/merges/<int:merge_id>/unmerge")
    @guarded(access.ARCHIVE_UNMERGE)
    def unmerge_archives(self, request, merge_id):
        data = load_input(ReasonSchema(), _json_body(request))
        merge = self._merge(merge_id)
        with self.gate.disclosing():
            return self.registry.unmerge_archives(merge["merge_id"], data["reason"], scope=self.gate.scope())

    def _merge(self, merge_id: int) -> dict:
        """The merge, if its surviving archive lies in the caller's scope; else 404."""
        merge = self.registry.get_merge(_entry_id(merge_id, "merge"))
        self.gate.note(archive_no=merge["archive_no"])
        try:
            self.gate.archive_in_scope(merge["archive_no"], "archive_no")
        except NotFound:
            raise NotFound("no such merge", {"merge_id": merge_id}) from None
        return merge

    # -- operators -------------------------------------------------------------------------

    @http("GET", "/api/v1/quarantine")
    @guarded(access.QUARANTINE_LIST)
    def list_quarantine(self, request):
        query = _query(request, QuarantineQuerySchema())
        return self.records.list_quarantine(**{**query, "status": None if query["status"] == "all" else query["status"]})

    @http("GET", "/api/v1/quarantine/<int:quarantine_id>")
    @guarded(access.QUARANTINE_SHOW)
    def show_quarantined(self, request, quarantine_id):
        return self.records.show_quarantined(_entry_id(quarantine_id, "quarantine"))

    @http("POST", "/api/v1/quarantine/<int:quarantine_id>/replay")
    @guarded(access.QUARANTINE_REPLAY)
    def replay_quarantined(self, request, quarantine_id):
        data = load_input(ReplaySchema(), _json_body(request, empty_ok=True))
        return self.records.replay_quarantined(_entry_id(quarantine_id, "quarantine"), corrected=data["corrected"])

    @http("POST", "/api/v1/quarantine/<int:quarantine_id>/discard")
    @guarded(access.QUARANTINE_DISCARD)
    def discard_quarantined(self, request, quarantine_id):
        data = load_input(DiscardSchema(), _json_body(request))
        return self.records.discard_quarantined(_entry_id(quarantine_id, "quarantine"), data["note"])

    @http("GET", "/api/v1/pending")
    @guarded(access.PENDING_LIST)
    def list_pending(self, request):
        return self.records.list_pending(**_query(request, PageQuerySchema()))

    @http("POST", "/api/v1/pending/<int:pending_id>/proposal")
    @guarded(access.PENDING_PROPOSE)
    def propose_link(self, request, pending_id):
        data = load_input(LinkPendingSchema(), _json_body(request))
        self.gate.note(archive_no=data["archive_no"])
        return self.records.propose_link(_entry_id(pending_id, "pending"), data["archive_no"])

    @http("GET", "/api/v1/pending/proposals")
    @guarded(access.PENDING_PROPOSALS)
    def list_link_proposals(self, request):
        query = _query(request, PageQuerySchema())
        jurisdiction = self.gate.jurisdiction()
        if not jurisdiction:
            return {"items": [], "next": None}
        return self.records.list_link_proposals(jurisdiction, **query)

    @http("POST", "/api/v1/pending/<int:pending_id>/link")
    @guarded(access.PENDING_LINK)
    def link_pending(self, request, pending_id):
        data = load_input(LinkPendingSchema(), _json_body(request))
        self.gate.note(archive_no=data["archive_no"])
        # The linking clinician answers for the archive: real scope, a grant does not count.
        archive = self.gate.archive_in_scope(data["archive_no"], "archive_no")
        return self.records.link_pending(_entry_id(pending_id, "pending"), archive["archive_no"])

    # -- filings flagged for review --------------------------------------------------------

    @http("GET", "/api/v1/reviews")
    @guarded(access.REVIEWS_LIST)
    def list_reviews(self, request):
        query = _query(request, PageQuerySchema())
        if access.permits(self.gate.caller.role, access.QUARANTINE_LIST):
            return self.records.list_reviews(prefix=None, **query)  # operators: every flagged filing
        jurisdiction = self.gate.jurisdiction()
        if not jurisdiction:
            return {"items": [], "next": None}
        return self.records.list_reviews(prefix=jurisdiction, **query)

    @http("POST", "/api/v1/archives/<string:archive_no>/records/<string:record_id>/review")
    @guarded(access.REVIEW_CLEAR)
    def clear_review(self, request, archive_no, record_id):
        _json_body(request, empty_ok=True)
        return self.records.clear_review(self.gate.archive["archive_no"], _record_id(record_id))

    # -- reference data and figures --------------------------------------------------------

    @http("GET", "/api/v1/villages")
    @guarded(access.VILLAGES_LIST)
    def list_villages(self, request):
        return self.registry.list_divisions(level="village")

    @http("GET", "/api/v1/institutions")
    @guarded(access.INSTITUTIONS_LIST)
    def list_institutions(self, request):
        return self.registry.list_institutions()

    @http("GET", "/api/v1/stats")
    @guarded(access.STATS_READ)
    def get_stats(self, request):
        jurisdiction = self.gate.jurisdiction()
        counts = self.registry.count_archives(jurisdiction) if jurisdiction else []
        return stats.archive_counts(jurisdiction, self.registry.list_divisions(level="village"), counts)

    # -- public ----------------------------------------------------------------------------

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

    @http("GET", "/api/v1/health/live")
    def health_live(self, request):
        # Answering is the check: this process's event loop runs. Nothing else is asked, so
        # the gateway stays live while another service (or its own database) is down.
        return {"status": "ok"}

    @http("GET", "/api/v1/health/ready")
    def health_ready(self, request):
        checks = readiness(GATEWAY, load_settings())
        ready = is_ready(checks)
        return (200 if ready else 503), {"status": "ok" if ready else "not_ready", "checks": checks}

    @http("GET", "/")
    def root(self, request):
        return redirect("/api/v1/docs")

    @http("GET", "/api/v1/openapi.json")
    def openapi(self, request):
        return _SPEC

    @http("GET", "/api/v1/docs")
    def docs(self, request):
        return Response(_DOCS, mimetype="text/html")
