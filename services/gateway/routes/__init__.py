"""The gateway's routes: one declaration each (`route.Route`), grouped by area, from which
`service.py` makes the entrypoints (the guard and the input's validation follow from the
declaration) and `openapi.py` draws the document. Who may call a route is ruled in
`access.py`, keyed by the action the route declares.

    auth.py        sign in, sign out everywhere
    archives.py    create, read, search, correct; revisions, possible duplicates; grants
    records.py     the front page, the timeline, form records
    attachments.py files kept with an archive; the resident's copy (export)
    cards.py       the 居民健康档案信息卡: issue, reissue, its content and issues
    lifecycle.py   termination, reactivation, retention
    transfers.py   request, accept, reject, cancel, list
    merges.py      merge, unmerge, list
    operations.py  quarantine, pending encounters, far filings flagged for review
    programmes.py  key-population programmes: enrolment, work list, suggestions, figures
    referrals.py   referrals (双向转诊) and consultations (会诊), both sides
    sync.py        the upload to the regional platform (区域平台上传), for operators
    reference.py   villages, institutions, counts
    meta.py        health, the document and its page (public)

Adding a route is a few lines in its area's `ROUTES` (a new area: a module here and a line
below), and, for a guarded route, its action in `access.py` with the roles that may do it:

    # services/gateway/routes/meta.py
    Route("GET", "/api/v1/health/live", "live", None, lambda c: {"status": "ok"},
          summary="The gateway process answers", answers=(Answer(200, "Alive", HealthSchema),)),

    # services/gateway/routes/records.py, with RECORD_PRINT = Action("record.print", READ) in access.py
    Route("GET", "/api/v1/archives/<string:archive_no>/records/<string:record_id>/print", "print_record",
          access.RECORD_PRINT, lambda c: c.records.print_record(c.record_id()),
          summary="...", answers=(Answer(200, "The page", PrintSchema),), errors=(400, 404, 503)),

The entrypoint, its guard and audit entry, the loading of its body and query, and its place in
`/api/v1/openapi.json` and `/api/v1/docs` follow; tests/unit/test_routes.py holds the table,
the document and the access matrix to one another.
"""

from __future__ import annotations

from services.gateway.routes import (archives, attachments, auth, cards, lifecycle, merges, meta, operations,
                                     programmes, records, reference, referrals, sync,
                                     transfers)
from services.gateway.routes.route import Answer, Body, Call, Route

ROUTES: tuple[Route, ...] = (*auth.ROUTES, *archives.ROUTES, *records.ROUTES, *attachments.ROUTES, *cards.ROUTES,
                             *lifecycle.ROUTES, *transfers.ROUTES,
                             *merges.ROUTES, *operations.ROUTES, *programmes.ROUTES, *referrals.ROUTES,
                             *referrals.OPERATOR_ROUTES, *sync.ROUTES,
                             *reference.ROUTES, *meta.ROUTES)

__all__ = ["ROUTES", "Answer", "Body", "Call", "Route"]
