"""The upload to the regional health information platform (区域平台上传), the sync service's, for
operators (`ehr sync ...` over HTTP; tagged `operations` like records' quarantine): the send
queue's counts by state and document type with the oldest document not settled yet, its
documents (by state, type, archive; newest first, paged) with the platform's reasons for a
rejection, a resend, a backfill of what the suite held before, and the reconciliation of the
suite against the platform's list of accepted documents.

Supervisors read the counts (`SYNC_STATUS`): how far the upload has got, no document named (the
oldest unsettled one is told by its type, state and age only).

Documents are named by ids and codes (`record:8f3e...:v2`, the archive number), never a person.
"""

from __future__ import annotations

import re

from shared.contracts.sync import (
    BackfillBodySchema, BackfillSchema, DocumentPageSchema, DocumentQuerySchema, DocumentSchema,
    ReconciliationQuerySchema, ReconciliationSchema, StatusSchema,
)
from shared.errors import NotFound

from services.gateway import access
from services.gateway.routes.route import NEXT_PAGE, Answer, Body, Call, Route, area, documented

DocumentQuery = documented(DocumentQuerySchema, cursor=NEXT_PAGE)
DOCUMENT = "/api/v1/sync/documents/<string:document_id>"
# A row id (`12`) or a document id (`record:8f3e...:v2`, `archive:11010510110100001:v1`)
_DOCUMENT_REF = re.compile(r"^[A-Za-z0-9._:-]{1,120}$")
# What of the oldest unsettled document a caller who may not list documents sees (supervisors)
_UNNAMED = ("type_code", "state", "attempts", "queued_at", "cause")


def status(c: Call):
    answer = c.sync.status()
    oldest = answer.get("oldest_unacknowledged")
    if oldest and not access.permits(c.gate.caller.role, access.SYNC_DOCUMENTS_LIST):
        answer["oldest_unacknowledged"] = {k: oldest.get(k) for k in _UNNAMED}
    return answer


def document_ref(c: Call) -> str:
    """The path's document: a row id or a document id; anything else answers 404 as an unknown one."""
    ref = c.path["document_id"]
    if not _DOCUMENT_REF.match(ref):
        raise NotFound("no such document", {"document_id": ref[:120].replace("\x00", "")})
    return ref


def resend(c: Call):
    ref = document_ref(c)
    c.gate.note(target=f"sync_document:{ref}"[:80])
    return c.sync.resend_document(ref)


def backfill(c: Call):
    return 202, c.sync.start_backfill(c.body["since"].isoformat())


ROUTES = area(
    "operations",
    Route("GET", "/api/v1/sync/status", "sync_status", access.SYNC_STATUS, status,
          summary="The upload to the regional platform: documents by state and type, the oldest not settled "
                  "yet, the records no document exists for yet, the last backfills (operators; supervisors "
                  "the counts)",
          answers=(Answer(200, "The queue's state", StatusSchema),), errors=(503,)),
    Route("GET", "/api/v1/sync/documents", "list_sync_documents", access.SYNC_DOCUMENTS_LIST,
          lambda c: c.sync.list_documents(**c.query),
          summary="Documents of the send queue, newest first, by `state`, `type` and `archive_no`, with the "
                  "platform's reasons for a rejection and the withdrawals of records entered in error "
                  "(action `withdraw`) (operators)", query=DocumentQuery,
          answers=(Answer(200, "One page, newest first", DocumentPageSchema),), errors=(400, 503)),
    Route("POST", DOCUMENT + "/resend", "resend_sync_document", access.SYNC_DOCUMENT_RESEND, resend,
          summary="Queue a held, rejected or failed document again, due now (by its id or its document id, "
                  "`record:8f3e...:v2`)",
          description="409 for a document queued already or acknowledged.",
          answers=(Answer(200, "Queued again", DocumentSchema),), errors=(404, 409, 503)),
    Route("POST", "/api/v1/sync/backfill", "start_sync_backfill", access.SYNC_BACKFILL, backfill,
          summary="Queue documents for everything the suite held since a day (archives created and records "
                  "given since then), walked in the background; nothing is queued twice",
          body=Body(BackfillBodySchema),
          answers=(Answer(202, "Started", BackfillSchema),), errors=(400, 503)),
    Route("GET", "/api/v1/sync/reconciliation", "sync_reconciliation", access.SYNC_RECONCILIATION,
          lambda c: c.sync.reconcile(**c.query),
          summary="The suite against the platform's list of accepted documents, per custodian institution and "
                  "document type, with the differences (samples of document ids, complete counts)",
          description="409 when the platform's list cannot be read.",
          query=ReconciliationQuerySchema,
          answers=(Answer(200, "The report", ReconciliationSchema),), errors=(400, 409, 503)),
)
