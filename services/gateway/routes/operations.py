"""Operators' work and what clinicians decide of it (the records service): the quarantine of
messages that could not be filed, encounters pending an archive (an operator proposes, a
clinician in scope links), and filings from far hospitals flagged for a look."""

from __future__ import annotations

from shared.contracts.fields import PageQuerySchema
from shared.contracts.records import (
    DiscardSchema, LinkPendingSchema, PendingEncounterSchema, PendingPageSchema, QuarantineEntrySchema, QuarantinePageSchema, QuarantineQuerySchema, ReplaySchema, ReviewPageSchema, ReviewSchema,
)

from services.gateway import access
from services.gateway.routes.route import NEXT_PAGE, Answer, Body, Call, Route, area, documented

PageQuery = documented(PageQuerySchema, cursor=NEXT_PAGE)
QuarantineQuery = documented(QuarantineQuerySchema, cursor=NEXT_PAGE)
NOTHING = {"items": [], "next": None}  # the page of a caller with no jurisdiction


def list_quarantine(c: Call):
    status = c.query["status"]
    return c.records.list_quarantine(**{**c.query, "status": None if status == "all" else status})


def propose_link(c: Call):
    c.gate.note(archive_no=c.body["archive_no"])
    return c.records.propose_link(c.entry_id("pending"), c.body["archive_no"])


def list_link_proposals(c: Call):
    jurisdiction = c.gate.jurisdiction()
    if not jurisdiction:
        return NOTHING
    return c.records.list_link_proposals(jurisdiction, **c.query)


def link_pending(c: Call):
    c.gate.note(archive_no=c.body["archive_no"])
    # The linking clinician answers for the archive: real scope, a grant does not count.
    archive = c.gate.archive_in_scope(c.body["archive_no"], "archive_no")
    return c.records.link_pending(c.entry_id("pending"), archive["archive_no"])


def list_reviews(c: Call):
    if access.permits(c.gate.caller.role, access.QUARANTINE_LIST):
        return c.records.list_reviews(prefix=None, **c.query)  # operators: every flagged filing
    jurisdiction = c.gate.jurisdiction()
    if not jurisdiction:
        return NOTHING
    return c.records.list_reviews(prefix=jurisdiction, **c.query)


ROUTES = area(
    "operations",
    Route("GET", "/api/v1/quarantine", "list_quarantine", access.QUARANTINE_LIST, list_quarantine,
          summary="Messages that could not be filed (operators)", query=QuarantineQuery,
          answers=(Answer(200, "One page, newest first", QuarantinePageSchema),), errors=(400, 503)),
    Route("GET", "/api/v1/quarantine/<int:quarantine_id>", "show_quarantined", access.QUARANTINE_SHOW,
          lambda c: c.records.show_quarantined(c.entry_id("quarantine")),
          summary="One quarantined message, its field errors and a whitelist of its fields (identifiers "
                  "masked, the rest as shapes)",
          answers=(Answer(200, "The entry", QuarantineEntrySchema),), errors=(404, 503)),
    Route("POST", "/api/v1/quarantine/<int:quarantine_id>/replay", "replay_quarantined", access.QUARANTINE_REPLAY,
          lambda c: c.records.replay_quarantined(c.entry_id("quarantine"), corrected=c.body["corrected"]),
          summary="Publish the message again, as it was or corrected", body=Body(ReplaySchema, required=False),
          answers=(Answer(200, "Replayed", QuarantineEntrySchema),), errors=(400, 404, 422, 503)),
    Route("POST", "/api/v1/quarantine/<int:quarantine_id>/discard", "discard_quarantined",
          access.QUARANTINE_DISCARD,
          lambda c: c.records.discard_quarantined(c.entry_id("quarantine"), c.body["note"]),
          summary="Close the entry without filing it (it is kept)", body=Body(DiscardSchema),
          answers=(Answer(200, "Discarded", QuarantineEntrySchema),), errors=(400, 404, 422, 503)),
    Route("GET", "/api/v1/pending", "list_pending", access.PENDING_LIST,
          lambda c: c.records.list_pending(**c.query),
          summary="Encounters waiting for their resident's archive, with their age (operators)", query=PageQuery,
          answers=(Answer(200, "One page, newest first", PendingPageSchema),), errors=(400, 503)),
    Route("POST", "/api/v1/pending/<int:pending_id>/proposal", "propose_link", access.PENDING_PROPOSE, propose_link,
          summary="Propose the archive of a pending encounter (operators); a clinician in scope links it",
          body=Body(LinkPendingSchema),
          answers=(Answer(200, "Proposed, nothing filed", PendingEncounterSchema),), errors=(400, 404, 422, 503)),
    Route("GET", "/api/v1/pending/proposals", "list_link_proposals", access.PENDING_PROPOSALS, list_link_proposals,
          summary="Pending encounters operators proposed into archives of your jurisdiction", query=PageQuery,
          answers=(Answer(200, "One page, newest first", PendingPageSchema),), errors=(400, 503)),
    Route("POST", "/api/v1/pending/<int:pending_id>/link", "link_pending", access.PENDING_LINK, link_pending,
          summary="File a pending encounter into an archive of your own scope (township doctors, archive "
                  "managers); teaches the registry the hospital's MRN",
          body=Body(LinkPendingSchema),
          answers=(Answer(200, "Filed", PendingEncounterSchema),), errors=(400, 404, 422, 503)),
    Route("GET", "/api/v1/reviews", "list_reviews", access.REVIEWS_LIST, list_reviews,
          summary="Hospital encounters filed from outside the archive's county, waiting for a look "
                  "(clinicians: their jurisdiction; operators: all)", query=PageQuery,
          answers=(Answer(200, "One page, newest first", ReviewPageSchema),), errors=(400, 503)),
    Route("POST", "/api/v1/archives/<string:archive_no>/records/<string:record_id>/review", "clear_review",
          access.REVIEW_CLEAR,
          lambda c: c.records.clear_review(c.archive["archive_no"], c.record_id()),
          summary="Clear a flagged filing: the encounter is this resident's (township doctors, archive managers)",
          answers=(Answer(200, "Cleared", ReviewSchema),), errors=(404, 422, 503)),
)
