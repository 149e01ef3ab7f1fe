"""The OpenAPI 3 document of `/api/v1`, generated from the marshmallow schemas in `shared.contracts`.

Every operation needs `Authorization: Bearer <token or API key>` (the `bearer` security scheme)
and documents its 401 and 403, except the public ones: sign-in, health, this document and the
docs page. `access.py` says which role may call which operation.
"""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from marshmallow import Schema, fields

# The registry validates the lifecycle's request bodies and shapes its answers with its contracts;
# the gateway passes both through unchanged, so its document shows the registry's own schemas.
from shared.contracts.gateway import (
    AccessGrantRequestSchema, AccessGrantSchema, ErrorSchema, GrantPageSchema, GrantSchema, HealthSchema,
    StatsSchema, TokenRequestSchema, TokenSchema,
)
from shared.contracts.records import (
    ArchiveSummarySchema, DiscardSchema, EnteredInErrorSchema, LinkPendingSchema, PendingEncounterSchema,
    PendingPageSchema, QuarantineEntrySchema, QuarantinePageSchema, RecordAmendSchema, RecordCreateSchema,
    RecordFiledSchema, RecordHistorySchema, RecordPageSchema, RecordSchema, ReplaySchema, ReviewPageSchema,
    ReviewSchema,
)
from shared.contracts.registry import (
    ArchiveCreateSchema, ArchiveDetailSchema, ArchivePageSchema, ArchiveRevisionSchema, ArchiveSchema,
    ArchiveSearchSchema, DivisionSchema, IdentityUpdateSchema, InstitutionSchema, MergeRequestSchema,
    MergeSchema, OptionalReasonSchema, ReasonSchema, TerminationSchema, TransferRequestSchema,
    TransferSchema,
)

API_VERSION = "1.0.0"


def _json(schema: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    text = {400: "Invalid input: `details` names each failing field",
            401: "No credentials, or a token or API key that is expired, revoked or wrong",
            403: "Your role may not do this (or, under a grant, this needs the archive in your own scope)",
            404: "Not found (an archive outside your scope answers the same, unless you hold a grant)",
            409: "Conflict: `conflict`, e.g. the ID number or a card already has an archive of your "
                 "jurisdiction (named in `details`), or possible duplicates of your jurisdiction need "
                 "`confirm_new`; `registered_elsewhere`, an archive outside your jurisdiction holds it "
                 "(`details` name only the field, with your value masked: no archive, village or institution); "
                 "or a form filled once per archive (`personal_info`) that the archive already has "
                 "(`details` name its record: amend it)",
            413: "The body is larger than EHR_MAX_BODY_BYTES (1 MiB)",
            422: "Not possible in the current state, e.g. already replayed",
            429: "Too many sign-in attempts (`Retry-After`), or grants: at most `EHR_GRANT_DAILY_LIMIT` (20) a user in any 24 hours",
            503: "A service is unavailable"}
    # Every protected operation can answer 401 and 403.
    return {str(s): _json("Error", text[s]) for s in sorted({401, 403, *statuses})}


PUBLIC: list = []  # `security: []`: no credentials needed


class SearchRequestSchema(ArchiveSearchSchema):
    """Filters (combined with AND, at least one) and the page: `{"pinyin": "zhangxiu", "limit": 20}`.
    Only archives of your jurisdiction (and those your institution manages) are found."""

    limit = fields.Int(load_default=50, metadata={"minimum": 1, "maximum": 200})
    cursor = fields.Str(load_default=None, metadata={"description": "`next` of the previous page"})


class IdentityUpdateRequestSchema(IdentityUpdateSchema):
    """The fields to correct, and why: `{"name": "张秀瑛", "reason": "核对户口本"}`. Each change is
    kept as a revision; the ID number must stay consistent with sex and birth date."""

    reason = fields.Str(metadata={"description": "why (kept in the revision)"})


class TransferDecisionSchema(Schema):
    transfer = fields.Nested(TransferSchema)
    archive = fields.Nested(ArchiveDetailSchema, metadata={
        "description": "the archive under its new number when the village changed; the old number still leads here"})


class SignedOutSchema(Schema):
    """`{"username": "doc01", "signed_out": true}`: sign in again for a new token."""

    username = fields.Str()
    signed_out = fields.Bool()


class DuplicateReviewSchema(Schema):
    archive_no = fields.Str()
    possible_duplicates = fields.List(fields.Dict(), metadata={
        "description": "active archives of your jurisdiction that look like this one, best first",
        "example": [{"archive_no": "11010510110100031", "score": 0.75, "reasons": ["name", "birth_date", "sex"]}]})


CODE_PATTERN = r"^[A-Za-z0-9_]{1,40}$"
ARCHIVE_NO = {"name": "archive_no", "in": "path", "required": True,
              "schema": {"type": "string", "pattern": r"^\d{17}$"}, "description": "17-digit archive number"}


def build_spec() -> dict:
    spec = APISpec(
        title="Resident health record suite (居民健康档案) API",
        version=API_VERSION,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "HTTP API of the gateway. Every response carries `X-Request-Id`, the suite's "
                             "own id of the request (the audit trail's); a client's own `X-Request-Id` (1 to "
                             "64 of `A-Za-z0-9._-`) comes back in `X-Client-Request-Id`. A body larger than "
                             "EHR_MAX_BODY_BYTES (1 MiB) answers 413 unread. Sign in "
                             "with `POST /api/v1/auth/token` (or use an API key) and send "
                             "`Authorization: Bearer <token or key>`; every call is recorded in the "
                             "audit trail. A readable listing of this document: `GET /api/v1/docs`."},
        servers=[{"url": "/"}],
        security=[{"bearer": []}],
    )
    spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT from POST /api/v1/auth/token, or an API key (ehrk_...)",
    })
    for name, schema in [
        ("ArchiveCreate", ArchiveCreateSchema), ("Archive", ArchiveSchema),
        ("Record", RecordSchema), ("RecordPage", RecordPageSchema),
        ("Division", DivisionSchema), ("Institution", InstitutionSchema),
        ("Health", HealthSchema), ("Error", ErrorSchema),
        ("QuarantineEntry", QuarantineEntrySchema), ("QuarantinePage", QuarantinePageSchema),
        ("Replay", ReplaySchema), ("Discard", DiscardSchema),
        ("PendingEncounter", PendingEncounterSchema), ("PendingPage", PendingPageSchema),
        ("Review", ReviewSchema), ("ReviewPage", ReviewPageSchema),
        ("LinkPending", LinkPendingSchema), ("RecordCreate", RecordCreateSchema),
        ("RecordAmend", RecordAmendSchema), ("EnteredInError", EnteredInErrorSchema),
        ("RecordHistory", RecordHistorySchema), ("RecordFiled", RecordFiledSchema),
        ("ArchiveSummary", ArchiveSummarySchema),
        ("TokenRequest", TokenRequestSchema), ("Token", TokenSchema), ("SignedOut", SignedOutSchema),
        ("AccessGrantRequest", AccessGrantRequestSchema), ("AccessGrant", AccessGrantSchema),
        ("Grant", GrantSchema), ("GrantPage", GrantPageSchema),
        ("Stats", StatsSchema),
        ("SearchRequest", SearchRequestSchema), ("ArchivePage", ArchivePageSchema),
        ("ArchiveDetail", ArchiveDetailSchema), ("IdentityUpdate", IdentityUpdateRequestSchema),
        ("ArchiveRevision", ArchiveRevisionSchema), ("Termination", TerminationSchema),
        ("Reason", ReasonSchema), ("OptionalReason", OptionalReasonSchema),
        ("DuplicateReview", DuplicateReviewSchema), ("TransferRequest", TransferRequestSchema),
        ("Transfer", TransferSchema), ("TransferDecision", TransferDecisionSchema),
        ("MergeRequest", MergeRequestSchema), ("Merge", MergeSchema),
    ]:
        spec.components.schema(name, schema=schema)

    spec.path("/api/v1/auth/token", operations={"post": {
        "summary": "Sign in: username and password for a short-lived bearer token",
        "description": "Repeated failures (EHR_LOCKOUT_THRESHOLD, 5) lock the account for EHR_LOCKOUT_SECONDS "
                       "(15 minutes; `ehr user unlock` lifts it sooner) and revoke its tokens. Attempts are "
                       "throttled per client address (EHR_SIGN_IN_PER_ADDRESS, 60 a minute) and per username "
                       "(EHR_SIGN_IN_PER_USER, 10 a minute): past either, 429 with `Retry-After`.",
        "security": PUBLIC,
        "requestBody": {"required": True, "content": {"application/json": {"schema": "TokenRequest"}}},
        "responses": {"200": _json("Token", "Signed in"), "400": _json("Error", "Invalid input"),
                      "401": _json("Error", "Wrong username or password, or the account is locked"),
                      "413": _json("Error", "The body is larger than EHR_MAX_BODY_BYTES"),
                      "429": {**_json("Error", "Too many attempts from this address or on this username; "
                                               "`details.retry_after` seconds to wait"),
                              "headers": {"Retry-After": {"schema": {"type": "integer"},
                                                          "description": "seconds"}}},
                      "503": _json("Error", "A service is unavailable")},
    }})
    spec.path("/api/v1/auth/revoke", operations={"post": {
        "summary": "Sign out everywhere: every token issued to you so far stops working (this one too)",
        "description": "For people; an API key answers 403 (an administrator revokes it with "
                       "`ehr apikey revoke`). An administrator does the same for anyone with "
                       "`ehr user revoke-tokens NAME`; a role or password change does it too.",
        "responses": {"200": _json("SignedOut", "Signed out everywhere"), **_errors(413, 503)},
    }})
    spec.path("/api/v1/archives", operations={"post": {
        "summary": "Create an archive and allocate its 17-digit number (403 for a village outside your jurisdiction)",
        "description": "The name is stored in its normal form (NFKC, no zero-width or direction characters). "
                       "Possible duplicates are archives of your jurisdiction with the same name, sex and birth "
                       "date, or a same-sounding name with the same birth date or phone; a phone alone never "
                       "makes one. The audit entry of a 409 names the archive numbers it disclosed.",
        "requestBody": {"required": True, "content": {"application/json": {"schema": "ArchiveCreate"}}},
        "responses": {"201": _json("Archive", "Created"), **_errors(400, 409, 503)},
    }})
    spec.path("/api/v1/archives/{archive_no}", operations={"get": {
        "summary": "Read an archive (ID number masked: its last four characters only)", "parameters": [ARCHIVE_NO],
        "responses": {"200": _json("Archive", "The archive"), **_errors(400, 404, 503)},
    }})
    spec.path("/api/v1/archives/{archive_no}/records", operations={"get": {
        "summary": "The archive's records, newest first, paged",
        "parameters": [
            ARCHIVE_NO,
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200,
                                                        "default": 50}},
            {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 200},
             "description": "`next` of the previous page"},
            {"name": "record_type", "in": "query", "schema": {"type": "string", "pattern": CODE_PATTERN}},
            {"name": "institution_code", "in": "query", "schema": {"type": "string",
                                                                   "pattern": r"^[A-Za-z0-9]{1,22}$"}},
            {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"},
             "description": "records that happened at or after this instant (with a UTC offset)"},
            {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"},
             "description": "records that happened before this instant"},
        ],
        "responses": {"200": _json("RecordPage", "One page"), **_errors(400, 404, 503)},
    }})
    spec.path("/api/v1/archives/{archive_no}/records", operations={"post": {
        "summary": "Enter a record on one of the archive's forms (personal_info, health_exam, visit, consultation)",
        "parameters": [ARCHIVE_NO],
        "requestBody": {"required": True, "content": {"application/json": {"schema": "RecordCreate"}}},
        "responses": {"201": _json("RecordFiled", "Filed, with what it offers other forms"),
                      **_errors(400, 404, 409, 422, 503)},
    }})
    spec.path("/api/v1/archives/{archive_no}/summary", operations={"get": {
        "summary": "The archive's front page (首页): key populations, chronic conditions, allergies, "
                   "blood type, the last exam's abnormal results, last service per type, whether it is dynamic",
        "parameters": [ARCHIVE_NO],
        "responses": {"200": _json("ArchiveSummary", "The summary"), **_errors(400, 404, 503)},
    }})
    record_id = {"name": "record_id", "in": "path", "required": True, "schema": {"type": "string"}}
    spec.path("/api/v1/archives/{archive_no}/records/{record_id}", operations={"get": {
        "summary": "A record with every revision, oldest first", "parameters": [ARCHIVE_NO, record_id],
        "responses": {"200": _json("RecordHistory", "The record"), **_errors(400, 404, 503)},
    }})
    spec.path("/api/v1/archives/{archive_no}/records/{record_id}/revisions", operations={"post": {
        "summary": "Amend a form record: a new revision becomes current, the old ones stay",
        "parameters": [ARCHIVE_NO, record_id],
        "requestBody": {"required": True, "content": {"application/json": {"schema": "RecordAmend"}}},
        "responses": {"201": _json("RecordFiled", "Amended"), **_errors(400, 404, 422, 503)},
    }})
    spec.path("/api/v1/archives/{archive_no}/records/{record_id}/entered-in-error", operations={"post": {
        "summary": "Mark a record as entered in error (it is kept, flagged, with the reason)",
        "parameters": [ARCHIVE_NO, record_id],
        "requestBody": {"required": True, "content": {"application/json": {"schema": "EnteredInError"}}},
        "responses": {"200": _json("RecordHistory", "Marked"), **_errors(400, 404, 422, 503)},
    }})
    spec.path("/api/v1/archives/{archive_no}/access", operations={"post": {
        "summary": "State why you need an archive outside your scope: it opens to you for a limited time, "
                   "and every look is flagged in the audit trail with the reason",
        "description": "A grant opens reading the archive and entering the record of the care given, nothing "
                       "else: identity corrections, amending records, termination, reactivation, transfers and "
                       "duplicate review need the archive in your own scope (403 under a grant). At most "
                       "`EHR_GRANT_DAILY_LIMIT` grants a user in any 24 hours (429). The archive's owners are "
                       "told: event `gateway.access_granted`, and `GET /api/v1/grants`.",
        "parameters": [ARCHIVE_NO],
        "requestBody": {"required": True, "content": {"application/json": {"schema": "AccessGrantRequest"}}},
        "responses": {"201": _json("AccessGrant", "Granted until `expires_at`"),
                      "200": _json("AccessGrant", "In your scope already: no grant needed"),
                      **_errors(400, 404, 429, 503)},
    }})
    spec.path("/api/v1/grants", operations={"get": {
        "summary": "Grants others took on archives of your jurisdiction (break-the-glass review), newest first, "
                   "paged (supervisors, institution administrators, archive managers)",
        "parameters": [{"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"},
                        "description": "grants taken at or after this instant (with a UTC offset)"},
                       {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200,
                                                                   "default": 50}},
                       {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 200},
                        "description": "`next` of the previous page"}],
        "responses": {"200": _json("GrantPage", "One page"), **_errors(400, 503)},
    }})
    _lifecycle_paths(spec)
    spec.path("/api/v1/villages", operations={"get": {
        "summary": "Villages and residents' committees the suite knows",
        "responses": {"200": {"description": "All villages", "content": {"application/json": {
            "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Division"}}}}},
            **_errors(503)},
    }})
    spec.path("/api/v1/institutions", operations={"get": {
        "summary": "Institutions the suite knows",
        "responses": {"200": {"description": "All institutions", "content": {"application/json": {
            "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Institution"}}}}},
            **_errors(503)},
    }})
    spec.path("/api/v1/stats", operations={"get": {
        "summary": "Archives per village of your jurisdiction: counts only, no personal data",
        "responses": {"200": _json("Stats", "The counts"), **_errors(503)},
    }})
    page = [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
            {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 200}}]
    entry_id = {"name": "quarantine_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    spec.path("/api/v1/quarantine", operations={"get": {
        "summary": "Messages that could not be filed (operators)",
        "parameters": [{"name": "status", "in": "query",
                        "schema": {"type": "string", "enum": ["held", "replayed", "discarded", "all"]}},
                       {"name": "reason", "in": "query", "schema": {"type": "string", "pattern": CODE_PATTERN}},
                       *page],
        "responses": {"200": _json("QuarantinePage", "One page, newest first"), **_errors(400, 503)},
    }})
    spec.path("/api/v1/quarantine/{quarantine_id}", operations={"get": {
        "summary": "One quarantined message, its field errors and a whitelist of its fields (identifiers "
                   "masked, the rest as shapes)",
        "parameters": [entry_id],
        "responses": {"200": _json("QuarantineEntry", "The entry"), **_errors(404, 503)},
    }})
    spec.path("/api/v1/quarantine/{quarantine_id}/replay", operations={"post": {
        "summary": "Publish the message again, as it was or corrected",
        "parameters": [entry_id],
        "requestBody": {"required": False, "content": {"application/json": {"schema": "Replay"}}},
        "responses": {"200": _json("QuarantineEntry", "Replayed"), **_errors(400, 404, 422, 503)},
    }})
    spec.path("/api/v1/quarantine/{quarantine_id}/discard", operations={"post": {
        "summary": "Close the entry without filing it (it is kept)",
        "parameters": [entry_id],
        "requestBody": {"required": True, "content": {"application/json": {"schema": "Discard"}}},
        "responses": {"200": _json("QuarantineEntry", "Discarded"), **_errors(400, 404, 422, 503)},
    }})
    spec.path("/api/v1/pending", operations={"get": {
        "summary": "Encounters waiting for their resident's archive, with their age (operators)",
        "parameters": page,
        "responses": {"200": _json("PendingPage", "One page, newest first"), **_errors(400, 503)},
    }})
    pending_id = {"name": "pending_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    spec.path("/api/v1/pending/{pending_id}/proposal", operations={"post": {
        "summary": "Propose the archive of a pending encounter (operators); a clinician in scope links it",
        "parameters": [pending_id],
        "requestBody": {"required": True, "content": {"application/json": {"schema": "LinkPending"}}},
        "responses": {"200": _json("PendingEncounter", "Proposed, nothing filed"), **_errors(400, 404, 422, 503)},
    }})
    spec.path("/api/v1/pending/proposals", operations={"get": {
        "summary": "Pending encounters operators proposed into archives of your jurisdiction",
        "parameters": page,
        "responses": {"200": _json("PendingPage", "One page, newest first"), **_errors(400, 503)},
    }})
    spec.path("/api/v1/pending/{pending_id}/link", operations={"post": {
        "summary": "File a pending encounter into an archive of your own scope (township doctors, archive "
                   "managers); teaches the registry the hospital's MRN",
        "parameters": [pending_id],
        "requestBody": {"required": True, "content": {"application/json": {"schema": "LinkPending"}}},
        "responses": {"200": _json("PendingEncounter", "Filed"), **_errors(400, 404, 422, 503)},
    }})
    spec.path("/api/v1/reviews", operations={"get": {
        "summary": "Hospital encounters filed from outside the archive's county, waiting for a look "
                   "(clinicians: their jurisdiction; operators: all)",
        "parameters": page,
        "responses": {"200": _json("ReviewPage", "One page, newest first"), **_errors(400, 503)},
    }})
    spec.path("/api/v1/archives/{archive_no}/records/{record_id}/review", operations={"post": {
        "summary": "Clear a flagged filing: the encounter is this resident's (township doctors, archive managers)",
        "parameters": [ARCHIVE_NO, record_id],
        "responses": {"200": _json("Review", "Cleared"), **_errors(404, 422, 503)},
    }})
    spec.path("/api/v1/health", operations={"get": {
        "summary": "Broker and databases reachable",
        "security": PUBLIC,
        "responses": {"200": _json("Health", "All healthy"), "503": _json("Health", "Something is down")},
    }})
    spec.path("/api/v1/health/live", operations={"get": {
        "summary": "This gateway process answers (liveness; asks no other service)",
        "security": PUBLIC,
        "responses": {"200": _json("Health", "Live")},
    }})
    spec.path("/api/v1/health/ready", operations={"get": {
        "summary": "This gateway's database (as its role), broker and migrations are ready (readiness)",
        "security": PUBLIC,
        "responses": {"200": _json("Health", "Ready"), "503": _json("Health", "Not ready, with the failing checks")},
    }})
    spec.path("/", operations={"get": {
        "summary": "Leads to this document's readable page",
        "security": PUBLIC,
        "responses": {"302": {"description": "To /api/v1/docs",
                              "headers": {"Location": {"schema": {"type": "string", "example": "/api/v1/docs"}}}}},
    }})
    spec.path("/api/v1/docs", operations={"get": {
        "summary": "This document as a readable HTML page",
        "security": PUBLIC,
        "responses": {"200": {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}}},
    }})
    return spec.to_dict()


def _body(schema: str, required: bool = True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _array(schema: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {
        "schema": {"type": "array", "items": {"$ref": f"#/components/schemas/{schema}"}}}}}


def _lifecycle_paths(spec: APISpec) -> None:
    """The registry's archive lifecycle: search, corrections, termination, transfer, merge."""
    spec.path("/api/v1/archives/search", operations={"post": {
        "summary": "Find archives of your jurisdiction by archive number (or village prefix), ID number, "
                   "name or pinyin prefix, birth date, village, institution or status; paged in name (pinyin) order "
                   "for a name (pinyin) search, else in archive-number order",
        "description": "A POST, so that ID numbers and names never appear in URLs or access logs.",
        "requestBody": _body("SearchRequest"),
        "responses": {"200": _json("ArchivePage", "One page"), **_errors(400, 503)},
    }})
    spec.path("/api/v1/archives/{archive_no}", operations={"patch": {
        "summary": "Correct the resident's identity (name, sex, birth date, ID document, phone), with the reason",
        "parameters": [ARCHIVE_NO], "requestBody": _body("IdentityUpdate"),
        "responses": {"200": _json("ArchiveDetail", "Corrected"), **_errors(400, 404, 409, 422, 503)},
    }})
    spec.path("/api/v1/archives/{archive_no}/revisions", operations={"get": {
        "summary": "Every change to the archive: who, when, what, why (oldest first)", "parameters": [ARCHIVE_NO],
        "responses": {"200": _array("ArchiveRevision", "The revisions"), **_errors(400, 404, 503)},
    }})
    spec.path("/api/v1/archives/{archive_no}/termination", operations={"post": {
        "summary": "Terminate the archive (终止): death (date, cause), migration out (date, destination, "
                   "handover) or loss to follow-up (date, reason); it is kept, findable, closed to clinical writes",
        "parameters": [ARCHIVE_NO], "requestBody": _body("Termination"),
        "responses": {"200": _json("ArchiveDetail", "Terminated"), **_errors(400, 404, 422, 503)},
    }})
    spec.path("/api/v1/archives/{archive_no}/reactivation", operations={"post": {
        "summary": "Reactivate an archive terminated for migration or loss to follow-up (the resident returned)",
        "parameters": [ARCHIVE_NO], "requestBody": _body("Reason"),
        "responses": {"200": _json("ArchiveDetail", "Active again"), **_errors(400, 404, 422, 503)},
    }})
    spec.path("/api/v1/archives/{archive_no}/possible-duplicates", operations={"get": {
        "summary": "Active archives of your jurisdiction that may be the same person (same name, sex and birth "
                   "date; a same-sounding name with the same birth date or phone; never a phone alone), "
                   "for review before a merge",
        "parameters": [ARCHIVE_NO],
        "responses": {"200": _json("DuplicateReview", "The candidates"), **_errors(400, 404, 503)},
    }})
    spec.path("/api/v1/archives/{archive_no}/transfers", operations={
        "post": {
            "summary": "Ask another village or township to take the archive over (迁出); it decides",
            "parameters": [ARCHIVE_NO], "requestBody": _body("TransferRequest"),
            "responses": {"201": _json("Transfer", "Requested"), **_errors(400, 404, 409, 422, 503)},
        },
        "get": {
            "summary": "The archive's transfers, newest first", "parameters": [ARCHIVE_NO],
            "responses": {"200": _array("Transfer", "The transfers"), **_errors(400, 404, 503)},
        },
    })
    transfer_id = {"name": "transfer_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    spec.path("/api/v1/transfers", operations={"get": {
        "summary": "Transfers addressed to your institution (迁入 work list), newest first",
        "parameters": [{"name": "status", "in": "query", "schema": {
            "type": "string", "enum": ["requested", "accepted", "rejected", "cancelled"]}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}}],
        "responses": {"200": _array("Transfer", "The transfers"), **_errors(400, 503)},
    }})
    spec.path("/api/v1/transfers/{transfer_id}", operations={"get": {
        "summary": "A transfer, to either of its sides", "parameters": [transfer_id],
        "responses": {"200": _json("Transfer", "The transfer"), **_errors(404, 503)},
    }})
    spec.path("/api/v1/transfers/{transfer_id}/accept", operations={"post": {
        "summary": "Accept a transfer (the receiving side): the archive moves, with a new number when the "
                   "village changes; the old number still leads to it",
        "parameters": [transfer_id],
        "responses": {"200": _json("TransferDecision", "Accepted"), **_errors(400, 404, 409, 422, 503)},
    }})
    spec.path("/api/v1/transfers/{transfer_id}/reject", operations={"post": {
        "summary": "Reject a transfer (the receiving side), with the reason", "parameters": [transfer_id],
        "requestBody": _body("Reason"),
        "responses": {"200": _json("Transfer", "Rejected"), **_errors(400, 404, 422, 503)},
    }})
    spec.path("/api/v1/transfers/{transfer_id}/cancel", operations={"post": {
        "summary": "Withdraw a transfer request (the sending side)", "parameters": [transfer_id],
        "requestBody": _body("OptionalReason", required=False),
        "responses": {"200": _json("Transfer", "Cancelled"), **_errors(400, 404, 422, 503)},
    }})
    spec.path("/api/v1/archives/{archive_no}/merges", operations={"get": {
        "summary": "Merges into the archive, newest first (undone ones too)", "parameters": [ARCHIVE_NO],
        "responses": {"200": _array("Merge", "The merges"), **_errors(400, 404, 503)},
    }})
    spec.path("/api/v1/merges", operations={"post": {
        "summary": "Merge two archives of one person (both in your scope): the merged archive's number, "
                   "ID number and records lead to the surviving one; journaled so it can be undone",
        "requestBody": _body("MergeRequest"),
        "responses": {"201": _json("Merge", "Merged"), **_errors(400, 404, 409, 422, 503)},
    }})
    merge_id = {"name": "merge_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    spec.path("/api/v1/merges/{merge_id}", operations={"get": {
        "summary": "A merge from the journal", "parameters": [merge_id],
        "responses": {"200": _json("Merge", "The merge"), **_errors(404, 503)},
    }})
    spec.path("/api/v1/merges/{merge_id}/unmerge", operations={"post": {
        "summary": "Undo a merge, even after later writes: each archive gets back what is its own",
        "parameters": [merge_id], "requestBody": _body("Reason"),
        "responses": {"200": _json("Merge", "Undone"), **_errors(400, 404, 422, 503)},
    }})
