"""The operators' page of the upload to the regional platform (区域平台上传, `/web/sync`): the send
queue's counts by state and document type, the oldest document not settled yet, the records no
document exists for yet, the documents of a state (rejected by default) with the platform's
reasons, a resend of one, and a backfill since a day.

It runs `sync_status`, `list_sync_documents`, `resend_sync_document` and `start_sync_backfill`
as the session's user: an operator gets all of it; a supervisor, whom the matrix gives the counts
only, sees the counts (the oldest document by its type, state and age); anyone else is refused
(403), as the API refuses them.
"""

from __future__ import annotations

from urllib.parse import urlencode

from shared.errors import EhrError, ValidationFailed

from services.gateway import access
from services.gateway.web.forms import flatten_errors
from services.gateway.web.page import Page, PageCall

PAGE_SIZE = 25
STATES = ("queued", "sent", "acknowledged", "rejected", "failed", "held", "cancelled")
RESENDABLE = ("held", "rejected", "failed", "sent")  # what the sync service queues again (its queue.RESENDABLE)
DEFAULT_STATE = "rejected"


def _filters(c: PageCall) -> dict:
    filters = {name: value for name in ("state", "type", "archive_no", "cursor")
               if (value := (c.request.args.get(name) or "").strip())}
    filters.setdefault("state", DEFAULT_STATE)
    if filters["state"] == "all":
        del filters["state"]
    return filters


def _counts(status: dict) -> tuple[list[str], dict]:
    """The document types present, and {type: {state: documents}} with a total per type."""
    table: dict = {}
    for row in status.get("by_state", []):
        cells = table.setdefault(row["type_code"], {})
        cells[row["state"]] = cells.get(row["state"], 0) + row["documents"]
        cells["total"] = cells.get("total", 0) + row["documents"]
    return sorted(table), table


def sync_page(c: PageCall, status_code: int = 200, errors: dict | None = None, failed: str | None = None,
              since: str = ""):
    lister = c.may(access.SYNC_DOCUMENTS_LIST)
    filters = _filters(c) if lister else {}
    calls = [lambda: c.api("sync_status")]
    query_errors: dict = {}
    if lister:
        calls.append(lambda: c.api("list_sync_documents", query={**filters, "limit": PAGE_SIZE}))
    try:
        status, *page = c.together(*calls)
    except ValidationFailed as exc:  # a filter typed into the URL: the page says which
        status, page = c.api("sync_status"), [{"items": [], "next": None}]
        query_errors = flatten_errors(exc.details)
    types, counts = _counts(status)
    totals = {state: sum(counts[t].get(state, 0) for t in types) for state in (*STATES, "total")}
    return c.render("sync.html", status=status_code, sync=status, types=types, counts=counts, totals=totals,
                    states=STATES, page=page[0] if page else None, filters=filters, lister=lister,
                    resendable=RESENDABLE, errors=errors or {}, query_errors=query_errors, failed=failed,
                    since=since, done=c.request.args.get("done"))


def _back(c: PageCall, done: str) -> str:
    kept = {name: value for name in ("state", "type", "archive_no")
            if (value := (c.form.get(f"back_{name}") or "").strip())}
    return "/web/sync?" + urlencode({**kept, "done": done})


def resend(c: PageCall):
    document_id = c.path["document_id"]
    try:
        c.api("resend_sync_document", document_id=document_id)
    except EhrError as exc:
        if exc.status in (404, 409):  # gone, or queued or acknowledged meanwhile
            message = "没有这份文档。" if exc.status == 404 else "该文档已在发送队列中或已被平台确认，无需重发。"
            return sync_page(c, exc.status, {"resend": [message]}, document_id)
        raise
    return c.redirect(_back(c, "resent"))


def backfill(c: PageCall):
    since = (c.form.get("since") or "").strip()
    try:
        c.api("start_sync_backfill", body={"since": since})
    except ValidationFailed as exc:
        return sync_page(c, 400, flatten_errors(exc.details), "backfill", since)
    return c.redirect("/web/sync?done=backfill")


PAGES = (
    Page("GET", "/web/sync", "sync", sync_page),
    Page("POST", "/web/sync/documents/<string:document_id>/resend", "resend_sync_document", resend),
    Page("POST", "/web/sync/backfill", "start_sync_backfill", backfill),
)
