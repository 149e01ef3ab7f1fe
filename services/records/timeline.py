"""Reading an archive's records: the timeline, newest first, with keyset paging."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.errors import ValidationFailed
from shared.paging import check_limit, decode_cursor, encode_cursor

from services.records.facts import record_flags
from services.records.models import Record, RecordRevision


def _instant(value: str | None) -> datetime | None:
    # Checked at the RPC boundary (shared.contracts.fields.instant: a UTC offset within ±14:00).
    return None if value is None else datetime.fromisoformat(value)


def list_records(session: Session, archive_no: str, limit: int = 50, cursor: str | None = None,
                 record_type: str | None = None, institution_code: str | None = None,
                 since: str | None = None, until: str | None = None) -> dict:
    """One page of an archive's records with their current revision, newest first, optionally
    of one type, from one institution, or within [since, until): {"items": [...], "next": cursor}."""
    check_limit(limit)
    since_at, until_at = _instant(since), _instant(until)
    stmt = _PAGE.limit(limit + 1)
    if record_type:
        stmt = stmt.where(_RECORDS.c.record_type == record_type)
    if institution_code:
        stmt = stmt.where(_RECORDS.c.institution_code == institution_code)
    if since_at:
        stmt = stmt.where(_RECORDS.c.occurred_at >= since_at)
    if until_at:
        stmt = stmt.where(_RECORDS.c.occurred_at < until_at)
    if cursor:
        occurred, record_id = decode_cursor(cursor, parts=2)
        try:
            occurred_at = datetime.fromisoformat(occurred)
        except ValueError:
            raise ValidationFailed("invalid cursor", {"cursor": ["Not a cursor this API returned."]}) from None
        stmt = stmt.where(sa.tuple_(_RECORDS.c.occurred_at, _RECORDS.c.id) < sa.tuple_(occurred_at, record_id))
    rows = session.execute(stmt, {"archive_no": archive_no}).all()
    page = rows[:limit]
    items = [_record_view(row) for row in page]
    next_cursor = encode_cursor(page[-1].occurred_at.isoformat(), page[-1].id) if len(rows) > limit else None
    return {"items": items, "next": next_cursor}


# A page of the timeline as plain rows, not ORM objects (the gateway's timeline reads it for
# every request; loading objects cost about as much as the query).
_RECORDS, _REVISIONS = Record.__table__, RecordRevision.__table__
_PAGE = (
    sa.select(_RECORDS.c.id, _RECORDS.c.archive_no, _RECORDS.c.record_type, _RECORDS.c.kind, _RECORDS.c.status,
              _RECORDS.c.status_reason, _RECORDS.c.occurred_at, _RECORDS.c.institution_code,
              _RECORDS.c.source_system, _RECORDS.c.source_record_id, _REVISIONS.c.revision,
              _REVISIONS.c.recorded_at, _REVISIONS.c.origin, _REVISIONS.c.content)
    .join(_REVISIONS, sa.and_(_REVISIONS.c.record_id == _RECORDS.c.id,
                              _REVISIONS.c.revision == _RECORDS.c.current_revision))
    .where(_RECORDS.c.archive_no == sa.bindparam("archive_no"))
    .order_by(_RECORDS.c.occurred_at.desc(), _RECORDS.c.id.desc())
)


def _record_view(row) -> dict:
    return {
        "record_id": row.id,
        "archive_no": row.archive_no,
        "record_type": row.record_type,
        "kind": row.kind,
        "status": row.status,
        "status_reason": row.status_reason,
        "occurred_at": row.occurred_at.isoformat(),
        "revision": row.revision,
        "recorded_at": row.recorded_at.isoformat(),
        "origin": row.origin,
        "source": {
            "institution_code": row.institution_code,
            "system": row.source_system,
            "record_id": row.source_record_id,
        },
        "content": row.content,
        "flags": record_flags(row.record_type, row.content, row.status),
    }
