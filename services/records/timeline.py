"""Reading an archive's records: the timeline, newest first, with keyset paging."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.errors import ValidationFailed
from shared.paging import check_limit, decode_cursor, encode_cursor

from services.records.models import Record, RecordRevision


def _instant(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.tzinfo is None or abs(parsed.utcoffset()) >= timedelta(hours=16):
        # PostgreSQL takes offsets up to 15:59, and so does every real time zone.
        raise ValidationFailed("invalid filter", {name: ["Not a date-time with a UTC offset."]})
    return parsed


def _text_filter(name: str, value: str | None) -> str | None:
    if value is not None and (not isinstance(value, str) or "\x00" in value or len(value) > 64):
        raise ValidationFailed("invalid filter", {name: ["Not a valid value."]})
    return value


def list_records(session: Session, archive_no: str, limit: int = 50, cursor: str | None = None,
                 record_type: str | None = None, institution_code: str | None = None,
                 since: str | None = None, until: str | None = None) -> dict:
    """One page of an archive's records with their current revision, newest first, optionally
    of one type, from one institution, or within [since, until): {"items": [...], "next": cursor}."""
    check_limit(limit)
    since_at, until_at = _instant("since", since), _instant("until", until)
    record_type = _text_filter("record_type", record_type)
    institution_code = _text_filter("institution_code", institution_code)
    stmt = (
        sa.select(Record, RecordRevision)
        .join(RecordRevision, sa.and_(RecordRevision.record_id == Record.id,
                                      RecordRevision.revision == Record.current_revision))
        .where(Record.archive_no == archive_no)
        .order_by(Record.occurred_at.desc(), Record.id.desc())
        .limit(limit + 1)
    )
    if record_type:
        stmt = stmt.where(Record.record_type == record_type)
    if institution_code:
        stmt = stmt.where(Record.institution_code == institution_code)
    if since_at:
        stmt = stmt.where(Record.occurred_at >= since_at)
    if until_at:
        stmt = stmt.where(Record.occurred_at < until_at)
    if cursor:
        occurred, record_id = decode_cursor(cursor, parts=2)
        try:
            occurred_at = datetime.fromisoformat(occurred)
        except ValueError:
            raise ValidationFailed("invalid cursor", {"cursor": ["Not a cursor this API returned."]}) from None
        stmt = stmt.where(sa.tuple_(Record.occurred_at, Record.id) < sa.tuple_(occurred_at, record_id))
    rows = session.execute(stmt).all()
    page = rows[:limit]
    items = [_record_view(record, revision) for record, revision in page]
    next_cursor = encode_cursor(page[-1][0].occurred_at.isoformat(), page[-1][0].id) if len(rows) > limit else None
    return {"items": items, "next": next_cursor}


def _record_view(record: Record, revision: RecordRevision) -> dict:
    return {
        "record_id": record.id,
        "archive_no": record.archive_no,
        "record_type": record.record_type,
        "kind": record.kind,
        "status": record.status,
        "status_reason": record.status_reason,
        "occurred_at": record.occurred_at.isoformat(),
        "revision": revision.revision,
        "recorded_at": revision.recorded_at.isoformat(),
        "origin": revision.origin,
        "source": {
            "institution_code": record.institution_code,
            "system": record.source_system,
            "record_id": record.source_record_id,
        },
        "content": revision.content,
    }
