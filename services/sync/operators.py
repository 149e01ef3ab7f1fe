"""What operators ask of the sync service (`ehr sync ...`, the gateway's operator routes): the
queue's state, its rows by state, a resend, and the reconciliation against the platform.

    status(session)                   -> {"by_state": [{"state": "queued", "type_code": "HSDA00.01", "documents": 3}],
                                          "oldest_unacknowledged": {...} | None, "not_buildable": [...], "backfills": [...]}
    list_documents(session, "rejected", limit=50)   -> {"items": [document, ...], "next": cursor | None}
    resend(session, "record:8f3e...:v2")           -> document (queued again, now)
    reconcile(session, client, custodian=None)     -> {"groups": [...], "totals": {...}}

A row is a document's version (`action` submit) or a withdrawal of its set (`withdraw`, naming
the document it withdraws in `withdraws`): both are listed, counted by state and resent alike.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.errors import Conflict, NotFound
from shared.paging import page_by_id

from services.sync import backfill, queue
from services.sync.models import Backfill, Document, NotBuildable
from services.sync.platform import PlatformClient, PlatformUnavailable

SAMPLE = 50  # document ids listed per difference and group
DIFFERENCES = ("missing_on_platform", "unknown_to_suite", "platform_id_differs", "withdrawal_differs")
_DOCUMENT_ID = re.compile(r"^(?P<set_id>.+):v(?P<version>[1-9][0-9]{0,8})$")


def view(row: Document) -> dict[str, Any]:
    return {"id": row.id, "document_id": queue.document_id(row.set_id, row.version), "set_id": row.set_id,
            "version": row.version, "replaces": row.replaces, "type_code": row.type_code, "source": row.source,
            "archive_no": row.archive_no, "record_id": row.record_id, "revision": row.revision,
            "custodian": row.custodian, "cause": row.cause, "action": row.action, "withdraws": row.withdraws,
            "state": row.state, "attempts": row.attempts,
            "next_attempt_at": row.next_attempt_at, "platform_id": row.platform_id, "reasons": row.reasons or [],
            "last_error": row.last_error, "queued_at": row.queued_at, "sent_at": row.sent_at,
            "answered_at": row.answered_at}


def status(session: Session) -> dict[str, Any]:
    by_state = session.execute(sa.select(Document.state, Document.type_code, sa.func.count())
                               .group_by(Document.state, Document.type_code)
                               .order_by(Document.state, Document.type_code)).all()
    oldest = session.scalar(sa.select(Document).where(Document.state.not_in(queue.SETTLED))
                            .order_by(Document.queued_at, Document.id).limit(1))
    unbuildable = session.execute(sa.select(NotBuildable.record_type, sa.func.count())
                                  .group_by(NotBuildable.record_type).order_by(NotBuildable.record_type)).all()
    runs = session.scalars(sa.select(Backfill).order_by(Backfill.id.desc()).limit(5)).all()
    return {"by_state": [{"state": s, "type_code": t, "documents": n} for s, t, n in by_state],
            "oldest_unacknowledged": view(oldest) if oldest is not None else None,
            "not_buildable": [{"record_type": t, "records": n} for t, n in unbuildable],
            "backfills": [backfill.view(run) for run in runs]}


def list_documents(session: Session, state: str | None, type_code: str | None = None, archive_no: str | None = None,
                   limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
    filters = []
    if state:
        filters.append(Document.state == state)
    if type_code:
        filters.append(Document.type_code == type_code)
    if archive_no:
        filters.append(Document.archive_no == archive_no)
    return page_by_id(session, Document, filters, limit, cursor, view)


def find(session: Session, ref: str, lock: bool = False) -> Document:
    """A row by its id (`12`) or its document id (`record:8f3e...:v2`); NotFound otherwise."""
    stmt = sa.select(Document)
    if ref.isdigit():
        stmt = stmt.where(Document.id == int(ref))
    else:
        match = _DOCUMENT_ID.match(ref)
        if match is None:
            raise NotFound("no such document", {"document": ["Give a document's id or its document id."]})
        stmt = stmt.where(Document.set_id == match["set_id"], Document.version == int(match["version"]))
    row = session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None:
        raise NotFound("no such document", {"document": ref})
    return row


def resend(session: Session, ref: str) -> dict[str, Any]:
    """Queue a held, rejected, failed or deferred document again, due now, its count of
    attempts reset; commits. Conflict for one queued already or acknowledged."""
    row = find(session, ref, lock=True)
    if row.state not in queue.RESENDABLE:
        raise Conflict(f"a {row.state} document is not resent", {"state": row.state})
    now = datetime.now(timezone.utc)
    row.state, row.attempts, row.next_attempt_at, row.last_error, row.updated_at = queue.QUEUED, 0, now, None, now
    session.commit()
    return view(row)


def reconcile(session: Session, client: PlatformClient, custodian: str | None = None,
              type_code: str | None = None) -> dict[str, Any]:
    """What the suite holds against what the platform lists, per institution (custodian) and
    document type: documents acknowledged here but unknown there, listed there but not
    acknowledged here, acknowledged under another platform id, withdrawn on one side only, and
    what is still on its way (not acknowledged yet here). A document the suite withdrew is
    expected listed `withdrawn`, or not at all (a withdrawal the platform answered `unknown`):
    never missing. Samples of ids are listed (at most `SAMPLE` a kind)."""
    filters = []
    if custodian:
        filters.append(Document.custodian == custodian)
    if type_code:
        filters.append(Document.type_code == type_code)
    held: dict[str, Document] = {}
    withdrawn: set[str] = set()
    pending: dict[tuple, int] = defaultdict(int)
    for row in session.scalars(sa.select(Document).where(*filters)):
        if row.action == queue.WITHDRAW and row.state == queue.ACKNOWLEDGED:
            withdrawn.add(row.withdraws)
        elif row.action == queue.SUBMIT and row.state == queue.ACKNOWLEDGED:
            held[queue.document_id(row.set_id, row.version)] = row
        elif row.state != queue.CANCELLED:
            pending[(row.custodian, row.type_code)] += 1
    try:
        listed = {item["document_id"]: item for item in client.accepted(custodian, type_code)}
    except PlatformUnavailable as exc:
        raise Conflict(f"the platform's list of accepted documents could not be read: {exc}", {}) from None
    groups: dict[tuple, dict[str, Any]] = {}

    def group(key: tuple) -> dict[str, Any]:
        if key not in groups:
            groups[key] = {"custodian": key[0], "type_code": key[1], "acknowledged": 0, "withdrawn": 0,
                           "platform_accepted": 0, "platform_withdrawn": 0, "on_the_way": 0,
                           "missing_on_platform": [], "unknown_to_suite": [], "platform_id_differs": [],
                           "withdrawal_differs": []}
        return groups[key]

    def note(entry: dict[str, Any], kind: str, doc_id: str) -> None:
        entry[f"{kind}_count"] = entry.get(f"{kind}_count", 0) + 1
        if len(entry[kind]) < SAMPLE:
            entry[kind].append(doc_id)

    for doc_id, row in held.items():
        entry = group((row.custodian, row.type_code))
        entry["acknowledged"] += 1
        withdrew = doc_id in withdrawn
        entry["withdrawn"] += withdrew
        item = listed.get(doc_id)
        if item is None:
            if not withdrew:
                note(entry, "missing_on_platform", doc_id)
        elif str(item.get("platform_id")) != row.platform_id:
            note(entry, "platform_id_differs", doc_id)
        elif (item.get("status") == "withdrawn") != withdrew:
            note(entry, "withdrawal_differs", doc_id)
    for doc_id, item in listed.items():
        entry = group((item.get("custodian"), item.get("document_type")))
        entry["platform_withdrawn" if item.get("status") == "withdrawn" else "platform_accepted"] += 1
        if doc_id not in held:
            note(entry, "unknown_to_suite", doc_id)
    for key, count in pending.items():
        group(key)["on_the_way"] += count
    rows = []
    for key in sorted(groups, key=lambda k: (k[0] or "", k[1] or "")):
        entry = groups[key]
        for kind in DIFFERENCES:
            entry.setdefault(f"{kind}_count", 0)
        rows.append(entry)
    totals = {name: sum(g[name] for g in rows) for name in (
        "acknowledged", "withdrawn", "platform_accepted", "platform_withdrawn", "on_the_way",
        *(f"{kind}_count" for kind in DIFFERENCES))}
    return {"groups": rows, "totals": totals, "consistent": not any(totals[f"{k}_count"] for k in DIFFERENCES)}
