"""Reading an archive's records: the timeline, newest first, with keyset paging."""

from __future__ import annotations

import base64
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.errors import ValidationFailed

from services.records.models import Record, RecordRevision

MAX_PAGE = 200


def _encode_cursor(occurred_at: datetime, record_id: str) -> str:
    return base64.urlsafe_b64encode(f"{occurred_at.isoformat()}|{record_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        occurred, record_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(occurred), record_id
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("invalid cursor", {"cursor": ["Not a cursor this API returned."]}) from None


def list_records(session: Session, archive_no: str, limit: int = 50, cursor: str | None = None,
                 record_type: str | None = None) -> dict:
    """One page of an archive's records with their current revision: {"items": [...], "next": cursor}."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed("invalid limit", {"limit": [f"Must be between 1 and {MAX_PAGE}."]})
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
    if cursor:
        occurred_at, record_id = _decode_cursor(cursor)
        stmt = stmt.where(sa.tuple_(Record.occurred_at, Record.id) < sa.tuple_(occurred_at, record_id))
    rows = session.execute(stmt).all()
    page = rows[:limit]
    items = [_record_view(record, revision) for record, revision in page]
    next_cursor = _encode_cursor(page[-1][0].occurred_at, page[-1][0].id) if len(rows) > limit else None
    return {"items": items, "next": next_cursor}


def _record_view(record: Record, revision: RecordRevision) -> dict:
    return {
        "record_id": record.id,
        "archive_no": record.archive_no,
        "record_type": record.record_type,
        "kind": record.kind,
        "status": record.status,
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
