"""The sync service's RPC contracts (`RPC`): what operators ask of the queue of documents sent to
the regional platform (`ehr sync ...`). Answers name documents by ids and codes, never a person.

    status()                                     -> StatusSchema
    list_documents(state="rejected", type_code=None, archive_no=None, limit=50, cursor=None)
                                                 -> {"items": [DocumentSchema, ...], "next": cursor | None}
    resend_document("record:8f3e...:v2" | "12")   -> DocumentSchema (queued again, due now)
    start_backfill("2026-01-01")                 -> BackfillSchema (advanced by the sender's timer)
    reconcile(custodian=None, type_code=None)    -> ReconciliationSchema
    run_sender()                                 -> {"acknowledged": 3, ...}   (one sender pass now)
    health()                                     -> {"database": "ok"}

The gateway's operator routes (`/api/v1/sync/...`, services/gateway/routes/sync.py) load their
queries and bodies with the HTTP schemas at the end (`DocumentQuerySchema`, `BackfillBodySchema`,
`ReconciliationQuerySchema`) and answer the RPC's answers as they are.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.contracts.fields import (INSTITUTION, ArchiveNo, Lenient, Limit, NoArgumentsSchema, PageQuerySchema,
                                    PingSchema, Rpc, Strict, not_in_future)

STATES = ("queued", "sent", "acknowledged", "rejected", "failed", "held", "cancelled")
ACTIONS = ("submit", "withdraw")
TYPE_CODE = validate.Regexp(r"^HSD[A-C]\d\d\.\d\d$", error="A WS/T 483 document type, e.g. HSDC00.01.")


class DocumentSchema(Schema):
    """One version of one document in the send queue (`action` submit), or the withdrawal of its
    set (`withdraw`: its record entered in error; `withdraws` the document withdrawn):

        {"id": 12, "document_id": "record:8f3e...:v2", "set_id": "record:8f3e...", "version": 2,
         "replaces": "record:8f3e...:v1", "type_code": "HSDB04.01", "source": "hypertension_follow_up",
         "archive_no": "11010510110100007", "record_id": "8f3e...", "revision": 2, "custodian": "T1101051011",
         "cause": "event", "action": "submit", "withdraws": null, "state": "rejected", "attempts": 0,
         "platform_id": null,
         "reasons": [{"code": "missing_element", "message": "...", "path": "/ClinicalDocument/..."}], ...}
    """

    id = fields.Int()
    document_id = fields.Str()
    set_id = fields.Str()
    version = fields.Int()
    replaces = fields.Str(allow_none=True)
    type_code = fields.Str()
    source = fields.Str()
    archive_no = fields.Str()
    record_id = fields.Str(allow_none=True)
    revision = fields.Int(allow_none=True)
    custodian = fields.Str(allow_none=True)
    cause = fields.Str(metadata={"enum": ["event", "backfill"]})
    action = fields.Str(metadata={"enum": list(ACTIONS)})
    withdraws = fields.Str(allow_none=True, metadata={
        "description": "a withdrawal's document: the set's latest acknowledged version (once sent)"})
    state = fields.Str(metadata={"enum": list(STATES)})
    attempts = fields.Int()
    next_attempt_at = fields.AwareDateTime()
    platform_id = fields.Str(allow_none=True)
    reasons = fields.List(fields.Dict())
    last_error = fields.Str(allow_none=True)
    queued_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    answered_at = fields.AwareDateTime(allow_none=True)


class DocumentPageSchema(Schema):
    items = fields.List(fields.Nested(DocumentSchema))
    next = fields.Str(allow_none=True)


class BackfillSchema(Schema):
    """A backfill run: `{"id": 1, "since": "2026-01-01", "state": "running", "villages": 412,
    "village_index": 37, "counts": {"archives": 5120, "queued": 20388}, "last_error": null, ...}`"""

    id = fields.Int()
    since = fields.Date()
    state = fields.Str(metadata={"enum": ["running", "done"]})
    requested_by = fields.Str()
    villages = fields.Int()
    village_index = fields.Int()
    counts = fields.Dict()
    last_error = fields.Str(allow_none=True)
    created_at = fields.AwareDateTime()
    finished_at = fields.AwareDateTime(allow_none=True)


class StateCountSchema(Schema):
    state = fields.Str()
    type_code = fields.Str()
    documents = fields.Int()


class NotBuildableCountSchema(Schema):
    record_type = fields.Str()
    records = fields.Int()


class StatusSchema(Schema):
    """`status()`: counts by state and document type, the oldest document not settled yet
    (neither acknowledged nor rejected), the records no document exists for yet (by type), and
    the last backfill runs."""

    by_state = fields.List(fields.Nested(StateCountSchema))
    oldest_unacknowledged = fields.Nested(DocumentSchema, allow_none=True)
    not_buildable = fields.List(fields.Nested(NotBuildableCountSchema))
    backfills = fields.List(fields.Nested(BackfillSchema))


class ReconciliationGroupSchema(Schema):
    custodian = fields.Str(allow_none=True)
    type_code = fields.Str(allow_none=True)
    acknowledged = fields.Int(metadata={"description": "acknowledged in the suite"})
    withdrawn = fields.Int(metadata={"description": "of those, withdrawn by the suite (a record entered in error)"})
    platform_accepted = fields.Int(metadata={"description": "listed as accepted by the platform"})
    platform_withdrawn = fields.Int(metadata={"description": "listed as withdrawn by the platform"})
    on_the_way = fields.Int(metadata={"description": "in the suite, not acknowledged yet"})
    missing_on_platform = fields.List(fields.Str())
    missing_on_platform_count = fields.Int()
    unknown_to_suite = fields.List(fields.Str())
    unknown_to_suite_count = fields.Int()
    platform_id_differs = fields.List(fields.Str())
    platform_id_differs_count = fields.Int()
    withdrawal_differs = fields.List(fields.Str(), metadata={
        "description": "withdrawn on one side only: by the suite but listed accepted, or listed withdrawn"})
    withdrawal_differs_count = fields.Int()


class ReconciliationSchema(Schema):
    """`reconcile()`: per custodian institution and document type, the suite against the platform;
    the lists are samples of document ids (at most 50 each), the counts complete."""

    groups = fields.List(fields.Nested(ReconciliationGroupSchema))
    totals = fields.Dict()
    consistent = fields.Bool()


class ListDocumentsRequestSchema(Strict):
    state = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(STATES))
    type_code = fields.Str(load_default=None, allow_none=True, validate=TYPE_CODE)
    archive_no = ArchiveNo(load_default=None, allow_none=True)
    limit = Limit(load_default=50)
    cursor = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200))


class DocumentRefSchema(Strict):
    """`resend_document("record:8f3e...:v2")` or by its row id `resend_document("12")`."""

    document = fields.Str(required=True, validate=validate.Length(min=1, max=120))


class BackfillRequestSchema(Strict):
    """`start_backfill("2026-01-01")`: documents for everything held since that day."""

    since = fields.Date(required=True)


class ReconcileRequestSchema(Strict):
    custodian = fields.Str(load_default=None, allow_none=True, validate=INSTITUTION)
    type_code = fields.Str(load_default=None, allow_none=True, validate=TYPE_CODE)


class SenderOutcomeSchema(Schema):
    """One pass of the sender: `{"claimed": 4, "acknowledged": 3, "rejected": 1, "deferred": 0,
    "failed": 0, "held": 0, "cancelled": 0}` (a withdrawal counts as acknowledged, or cancelled
    when nothing acknowledged was there to withdraw)."""

    claimed = fields.Int()
    acknowledged = fields.Int()
    rejected = fields.Int()
    deferred = fields.Int()
    failed = fields.Int()
    held = fields.Int()
    cancelled = fields.Int()


RPC: dict[str, Rpc] = {
    "status": Rpc(NoArgumentsSchema(), StatusSchema()),
    "list_documents": Rpc(ListDocumentsRequestSchema(), DocumentPageSchema()),
    "resend_document": Rpc(DocumentRefSchema(), DocumentSchema()),
    "start_backfill": Rpc(BackfillRequestSchema(), BackfillSchema()),
    "reconcile": Rpc(ReconcileRequestSchema(), ReconciliationSchema()),
    "run_sender": Rpc(NoArgumentsSchema(), SenderOutcomeSchema()),
    "health": Rpc(NoArgumentsSchema(), PingSchema()),
}


# -- the gateway's HTTP queries and bodies (`GET /api/v1/sync/documents`, ...) ------------------------


class DocumentQuerySchema(PageQuerySchema):
    """`?state=rejected&type=HSDB04.01&archive_no=11010510110100001&limit=50&cursor=...`: the send
    queue's documents, newest first; each filter optional."""

    state = fields.Str(load_default=None, validate=validate.OneOf(STATES),
                       metadata={"description": "queued, sent, acknowledged, rejected, failed, held or "
                                                "cancelled (never sent: its record entered in error)"})
    type_code = fields.Str(load_default=None, data_key="type", validate=TYPE_CODE,
                           metadata={"description": "a WS/T 483 document type", "example": "HSDB04.01"})
    archive_no = ArchiveNo(load_default=None)


class BackfillBodySchema(BackfillRequestSchema):
    """`{"since": "2026-01-01"}`: documents for everything the suite held since that day (today at
    the latest), walked in the background by the sync service."""

    since = fields.Date(required=True, validate=not_in_future)


class ReconciliationQuerySchema(Lenient):
    """`?custodian=T1101051011&type=HSDC00.01`: one custodian institution, one document type, or all."""

    custodian = fields.Str(load_default=None, validate=INSTITUTION)
    type_code = fields.Str(load_default=None, data_key="type", validate=TYPE_CODE)
