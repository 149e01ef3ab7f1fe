"""An archive's standing records (not marked entered-in-error) as their current revisions say,
newest first: what the 首页 is built from and what a form's rules read of the archive.

    standing_records(session, "11010500300100001", record_types=("personal_info",))
        -> [("personal_info", datetime(2026, 11, 1, tzinfo=...), {...the form...}, "8f3e...")]
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.records.models import Record, RecordRevision
from services.records.rules import ACTIVE

StandingRecord = tuple[str, datetime, dict[str, Any], str]  # record_type, occurred_at, content, record id


def standing_records(session: Session, archive_no: str,
                     record_types: Iterable[str] | None = None) -> list[StandingRecord]:
    query = (
        sa.select(Record.record_type, Record.occurred_at, RecordRevision.content, Record.id)
        .join(RecordRevision, sa.and_(RecordRevision.record_id == Record.id,
                                      RecordRevision.revision == Record.current_revision))
        .where(Record.archive_no == archive_no, Record.status == ACTIVE)
        .order_by(Record.occurred_at.desc(), Record.id)
    )
    if record_types is not None:
        query = query.where(Record.record_type.in_(list(record_types)))
    return [tuple(row) for row in session.execute(query).all()]
