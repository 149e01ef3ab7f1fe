"""Filings that wait for a clinician's look: hospital encounters filed into an archive far from
the hospital (`rules.review_for`), and insurance settlements whose insurance type the archive's
个人基本信息表 does not list among its payment methods (`rules.insurance_review`: `details` names
both; the form is never rewritten from a settlement, the clinician decides). Each is filed, so nothing is lost if the match is right; the
flag lists it for the clinicians of the archive's area (and the operators), who clear it or mark
the record entered-in-error.

    list_reviews(session, prefix="110105003", limit=50)
        -> {"items": [{"record_id": "...", "archive_no": "11010500300100001", "review": "hospital_outside_county",
                       "institution_code": "H3301020001", "kind": "outpatient", "occurred_at": "...",
                       "filed_at": "..."}], "next": None}
    clear_review(session, archive_no, record_id, actor)   # "the filing is right"
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.errors import InvalidTransition, NotFound, ValidationFailed
from shared.paging import check_limit, decode_cursor, encode_cursor

from services.records.models import Record


def _view(r: Record) -> dict:
    return {"record_id": r.id, "archive_no": r.archive_no, "record_type": r.record_type, "review": r.review,
            "details": r.review_details,
            "institution_code": r.institution_code, "kind": r.kind, "occurred_at": r.occurred_at.isoformat(),
            "filed_at": r.created_at.isoformat()}


def list_reviews(session: Session, prefix: str | None = None, limit: int = 50, cursor: str | None = None) -> dict:
    """Records flagged for review, newest first; `prefix` confines them to archives numbered under
    a jurisdiction (a clinician's), None to all (operators)."""
    check_limit(limit)
    stmt = sa.select(Record).where(Record.review.is_not(None))
    if prefix is not None:
        stmt = stmt.where(Record.archive_no.startswith(prefix, autoescape=True))
    if cursor:
        created, record_id = decode_cursor(cursor, parts=2)
        try:
            after = datetime.fromisoformat(created)
        except ValueError:
            raise ValidationFailed("invalid cursor", {"cursor": ["Not a cursor this API returned."]}) from None
        stmt = stmt.where(sa.tuple_(Record.created_at, Record.id) < (after, record_id))
    rows = session.scalars(stmt.order_by(Record.created_at.desc(), Record.id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    following = encode_cursor(page[-1].created_at.isoformat(), page[-1].id) if len(rows) > limit else None
    return {"items": [_view(r) for r in page], "next": following}


def clear_review(session: Session, archive_no: str, record_id: str, actor: Actor) -> dict:
    """A clinician of the archive's area has looked: the filing is right; commits."""
    record = session.scalars(sa.select(Record).where(Record.id == record_id, Record.archive_no == archive_no)
                             .with_for_update()).first()
    if record is None:
        raise NotFound("no such record", {"record_id": record_id})
    if record.review is None:
        raise InvalidTransition("this record is not waiting for a review", {"record_id": record_id})
    view = _view(record)
    record.review, record.reviewed_by, record.reviewed_at = None, actor.user[:80], datetime.now(timezone.utc)
    session.commit()
    return {**view, "review": None, "reviewed_by": record.reviewed_by, "reviewed_at": record.reviewed_at.isoformat()}
