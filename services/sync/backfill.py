"""Backfill: documents for what the suite held before the sync service heard of it. An operator
starts a run (`ehr sync backfill --since 2026-01-01`); the sender's timer advances it one page of
archives at a time, walking every village (`registry.list_divisions`), its archives
(`registry.search_archives`, paged) and each archive's records since the date
(`records.list_records`, paged), and queues what is not queued yet, exactly as the events would
have (`events.record_changed`: the archive's registration first; a revision already queued is
not queued again). The position is kept on the run's row, locked while a worker advances it, so
a restart resumes and two workers never walk the same page.

    start(session, date(2026, 1, 1), "ops01")                            -> Backfill(id=1, ...)
    advance(session, list_villages, list_archives, list_records)      -> {"backfill": 1, "queued": 37, ...}
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.errors import Conflict

from services.sync import events, queue
from services.sync.models import Backfill

ListVillages = Callable[[], list[str]]
ListArchives = Callable[[str, str | None], dict[str, Any]]          # (village, cursor) -> page
ListRecords = Callable[[str, str, str | None], dict[str, Any]]      # (archive_no, since, cursor) -> page


def view(run: Backfill) -> dict[str, Any]:
    position = run.position or {}
    villages = position.get("villages") or []
    return {"id": run.id, "since": run.since, "state": run.state, "requested_by": run.requested_by,
            "villages": len(villages), "village_index": position.get("index", 0), "counts": run.counts or {},
            "last_error": run.last_error, "created_at": run.created_at, "finished_at": run.finished_at}


def start(session: Session, since: date, user: str) -> Backfill:
    """A new run from `since`; Conflict while another is running (one walk at a time)."""
    running = session.scalar(sa.select(Backfill).where(Backfill.state == "running").limit(1))
    if running is not None:
        raise Conflict("a backfill is running already", {"backfill": running.id})
    run = Backfill(since=since, requested_by=user, position={}, counts={"archives": 0, "queued": 0})
    session.add(run)
    session.commit()
    return run


def advance(session: Session, list_villages: ListVillages, list_archives: ListArchives,
            list_records: ListRecords) -> dict[str, Any] | None:
    """One page of archives of the running backfill (None when none runs, or another worker has
    it); commits. A failing call leaves the position where it was, with the error noted."""
    run = session.scalar(sa.select(Backfill).where(Backfill.state == "running").order_by(Backfill.id)
                         .limit(1).with_for_update(skip_locked=True))
    if run is None:
        return None
    position = dict(run.position or {})
    counts = dict(run.counts or {})
    since = f"{run.since.isoformat()}T00:00:00+08:00"
    try:
        if "villages" not in position:
            position.update(villages=sorted(list_villages()), index=0, cursor=None)
        villages = position["villages"]
        if position["index"] >= len(villages):
            run.state, run.finished_at = "done", datetime.now(timezone.utc)
        else:
            page = list_archives(villages[position["index"]], position.get("cursor"))
            for archive in page["items"]:
                counts["archives"] = counts.get("archives", 0) + 1
                counts["queued"] = counts.get("queued", 0) + _archive(session, archive, since, list_records, run.since)
            if page.get("next"):
                position["cursor"] = page["next"]
            else:
                position["index"], position["cursor"] = position["index"] + 1, None
        run.last_error = None
    except Exception as exc:  # noqa: BLE001 - a service down: the run waits at its position
        session.rollback()
        run = session.get(Backfill, run.id, with_for_update=True)
        run.last_error = type(exc).__name__
        session.commit()
        return {"backfill": run.id, "error": run.last_error}
    run.position, run.counts = position, counts
    session.commit()
    return {"backfill": run.id, "state": run.state, **counts}


def _archive(session: Session, archive: dict[str, Any], since: str, list_records: ListRecords,
             since_date: date) -> int:
    archive_no = archive["archive_no"]
    queued = 0
    created = archive.get("created_at")
    if created is not None and str(created)[:10] >= since_date.isoformat():
        queued += 1 if queue.ensure_registration(session, archive_no, "backfill", archive.get("institution_code")) else 0
    cursor = None
    while True:
        page = list_records(archive_no, since, cursor)
        for entry in page["items"]:
            if entry.get("entry", "record") != "record" or entry.get("status") == "entered_in_error":
                continue
            queued += events.record_changed(session, {
                "archive_no": archive_no, "record_id": entry["record_id"], "record_type": entry["record_type"],
                "kind": entry.get("kind"), "revision": entry["revision"], "action": "filed"}, cause="backfill")
        cursor = page.get("next")
        if not cursor:
            return queued
