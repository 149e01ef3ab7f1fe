"""Records entered on the archive's paper forms: file, amend, mark entered-in-error, read.

Nothing is ever deleted or overwritten: an amendment adds a revision (the earlier ones stay
readable, each with its author, institution and reason) and a mistake is marked
entered-in-error with a reason. Every change is announced on `ehr.archive-updates`.

    file_form_record(session, archive, "visit", {"occurred_on": "2026-11-20", ...}, actor)
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.errors import NotFound, ValidationFailed
from shared.outbox import stage

from services.records.forms import FORMS, validate_form
from services.records.models import Record, RecordRevision, outbox
from services.records.revisions import REVISIONS, next_revision, update_message
from services.records.rules import (
    ENTERED_IN_ERROR, reason_given, require_amendable, require_markable, require_writable,
)

CHINA_TIME = timezone(timedelta(hours=8))


def _institution(actor: Actor, payload: dict) -> str:
    code = actor.institution_code or payload.get("institution_code")
    if not code:
        raise ValidationFailed("who records this", {"institution_code": ["Missing data for required field."]})
    return code


def _occurred_at(content: dict) -> datetime:
    # A form carries a date; it is placed at midnight China time on the timeline.
    return datetime.combine(date.fromisoformat(content["occurred_on"]), time(0), CHINA_TIME)


def _record_dict(record: Record) -> dict:
    return {"archive_no": record.archive_no, "record_type": record.record_type, "kind": record.kind, "institution_code": record.institution_code,
            "source_record_id": record.source_record_id, "occurred_at": record.occurred_at}


def file_form_record(session: Session, archive: dict, payload: dict, actor: Actor) -> Record:
    """`payload`: {"record_type": "visit", "content": {...form...}, "institution_code": ...}."""
    require_writable(archive)
    record_type = payload.get("record_type")
    if record_type not in FORMS:
        raise ValidationFailed("unknown record type", {"record_type": [f"Must be one of: {', '.join(FORMS)}."]})
    content = validate_form(record_type, payload.get("content") or {},
                            birth_date=date.fromisoformat(archive["birth_date"]))
    record = Record(
        id=str(uuid.uuid4()), archive_no=archive["archive_no"], record_type=record_type, kind=None,
        institution_code=_institution(actor, payload), occurred_at=_occurred_at(content),
        current_revision=1, current_source_version=0,
    )
    session.add(record)
    session.flush()
    session.connection().execute(REVISIONS.insert(), [{
        "record_id": record.id, "revision": 1, "source_version": 0, "content": content, "origin": "form",
        "author": actor.user, "message_id": None, "reason": None,
    }])
    stage(session, outbox, [update_message(record.id, _record_dict(record), "filed", 1)])
    session.commit()
    return record


def _writable_record(session: Session, archive: dict, record_id: str) -> Record:
    """The record, locked, provided the archive takes clinical writes and the record is its."""
    require_writable(archive)
    record = session.scalars(sa.select(Record).where(Record.id == record_id).with_for_update()).first()
    if record is None or record.archive_no != archive["archive_no"]:
        raise NotFound("no such record", {"record_id": record_id})
    return record


def amend_form_record(session: Session, archive: dict, record_id: str, payload: dict, actor: Actor) -> Record:
    """A corrected form: a new revision becomes current; `payload` = {"content", "reason"}."""
    record = _writable_record(session, archive, record_id)
    require_amendable(record.record_type, record.status)
    reason = reason_given(payload.get("reason"))
    content = validate_form(record.record_type, payload.get("content") or {},
                            birth_date=date.fromisoformat(archive["birth_date"]))
    revision = next_revision(session, record_id)
    session.connection().execute(REVISIONS.insert(), [{
        "record_id": record_id, "revision": revision, "source_version": 0, "content": content, "origin": "form",
        "author": actor.user, "message_id": None, "reason": reason,
    }])
    record.current_revision, record.occurred_at = revision, _occurred_at(content)
    record.updated_at = sa.func.now()
    session.flush()
    stage(session, outbox, [update_message(record.id, _record_dict(record), "amended", revision)])
    session.commit()
    return record


def mark_entered_in_error(session: Session, archive: dict, record_id: str, reason: str, actor: Actor) -> Record:
    """The record stays, readable, flagged as a mistake with the reason; announced."""
    record = _writable_record(session, archive, record_id)
    require_markable(record.status)
    record.status, record.status_reason = ENTERED_IN_ERROR, f"{actor.user}: {reason_given(reason)}"
    record.updated_at = sa.func.now()
    session.flush()
    stage(session, outbox, [update_message(record.id, _record_dict(record), "entered_in_error",
                                            record.current_revision)])
    session.commit()
    return record


def get_record(session: Session, record_id: str) -> dict[str, Any]:
    """A record with every revision, oldest first."""
    record = session.get(Record, record_id)
    if record is None:
        raise NotFound("no such record", {"record_id": record_id})
    revisions = session.scalars(sa.select(RecordRevision).where(RecordRevision.record_id == record_id)
                                .order_by(RecordRevision.revision)).all()
    return {
        "record_id": record.id, "archive_no": record.archive_no, "record_type": record.record_type,
        "kind": record.kind, "status": record.status, "status_reason": record.status_reason,
        "occurred_at": record.occurred_at.isoformat(), "current_revision": record.current_revision,
        "institution_code": record.institution_code,
        "revisions": [{
            "revision": r.revision, "origin": r.origin, "author": r.author, "reason": r.reason,
            "recorded_at": r.recorded_at.isoformat(), "content": r.content,
        } for r in revisions],
    }
