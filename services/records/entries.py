"""Records entered on the archive's paper forms: file, amend, mark entered-in-error, read.

Nothing is ever deleted or overwritten: an amendment adds a revision (the earlier ones stay
readable, each with its author, institution and reason) and a mistake is marked
entered-in-error with a reason. Every change is announced on `ehr.archive-updates`, and to the
suite's services as `records.record_changed` with the record's programme facts
(`services.records.facts`; none once entered in error), in the transaction of the change.

A form is validated for the archive's resident: their birth date, sex and village (the
registry's archive) and, for a health exam, the conditions the archive's records name (its
足背动脉搏动 rule) and the 既往史 of its 个人基本信息表 (what the exam offers that form). A form
filled once (`rules.FILED_ONCE`) is refused while one stands.

    file_form_record(session, archive, {"record_type": "visit", "content": {...}}, actor)
        -> (record, suggestions)
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared import clock
from shared.actor import Actor
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.outbox import stage

from services.records.facts import programme_facts, record_flags
from services.records.forms import FORMS, REFERRAL_FORMS, validate_form
from services.records.models import Record, RecordRevision, outbox
from services.records.revisions import REVISIONS, changed_message, next_revision, update_message
from services.records.rules import (
    ENTERED_IN_ERROR, FILED_ONCE, archive_conditions, past_history_codes, past_history_suggestions, reason_given,
    require_amendable, require_first, require_markable, require_writable,
)
from services.records.standing import standing_records

CHINA_TIME = clock.CHINA_TIME


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


def _validated(session: Session, archive: dict, record_type: str, content: dict,
               previous: dict | None = None) -> tuple[dict, list[dict]]:
    """The form's content loaded for this archive's resident, and what it offers other forms."""
    rows = (standing_records(session, archive["archive_no"], ("personal_info", "hospital_encounter"))
            if record_type == "health_exam" else [])
    content = validate_form(record_type, content, birth_date=date.fromisoformat(archive["birth_date"]),
                            sex=archive.get("sex"), village_code=archive.get("village_code"),
                            conditions=archive_conditions(rows), previous=previous)
    suggestions = past_history_suggestions(content, past_history_codes(rows)) if record_type == "health_exam" else []
    return content, suggestions


def _require_first(session: Session, archive_no: str, record_type: str) -> None:
    """A form filled once: refused while one stands (two filings at once wait for each other)."""
    if record_type not in FILED_ONCE:
        return
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"{record_type}:{archive_no}"))))
    standing = standing_records(session, archive_no, (record_type,))
    require_first(record_type, standing[0][3] if standing else None)


def file_form_record(session: Session, archive: dict, payload: dict, actor: Actor, record_id: str | None = None,
                     origin: str = "form") -> tuple[Record, list[dict]]:
    """`payload`: {"record_type": "visit", "content": {...form...}, "institution_code": ...}; the
    record filed and its suggestions for other forms (`rules.past_history_suggestions`).

    A service that is the source of a record (`origin` `referral`) chooses its `record_id`: asked
    again with the same id (its earlier answer lost), the record filed then is answered and
    nothing is filed twice. The referral forms (`REFERRAL_FORMS`) come only from the referrals."""
    require_writable(archive)
    record_type = payload.get("record_type")
    if record_type not in FORMS:
        raise ValidationFailed("unknown record type", {"record_type": [f"Must be one of: {', '.join(FORMS)}."]})
    if record_type in REFERRAL_FORMS and origin != "referral":
        raise ValidationFailed("filed by the referrals service only", {"record_type": [
            "A referral's 转出单 and 回转单 are filed by the referral itself (POST /api/v1/referrals)."]})
    if record_id is not None:
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"record:{record_id}"))))
        existing = session.get(Record, record_id)
        if existing is not None:
            if existing.archive_no != archive["archive_no"] or existing.record_type != record_type:
                raise Conflict("a different record has this id", {"record_id": record_id})
            session.commit()
            return existing, []
    content, suggestions = _validated(session, archive, record_type, payload.get("content") or {})
    _require_first(session, archive["archive_no"], record_type)
    record = Record(
        id=record_id or str(uuid.uuid4()), archive_no=archive["archive_no"], record_type=record_type, kind=None,
        institution_code=_institution(actor, payload), occurred_at=_occurred_at(content),
        current_revision=1, current_source_version=0,
    )
    session.add(record)
    session.flush()
    session.connection().execute(REVISIONS.insert(), [{
        "record_id": record.id, "revision": 1, "source_version": 0, "content": content, "origin": origin,
        "author": actor.user, "message_id": None, "reason": None,
    }])
    _announce(session, archive, record, "filed", 1, content, actor)
    session.commit()
    return record, suggestions


def _announce(session: Session, archive: dict, record: Record, action: str, revision: int, content: dict | None,
              actor: Actor) -> None:
    """Stage the archive update and the `record_changed` event of a change (facts of `content`,
    the record as it now stands; None when it was entered in error)."""
    facts = None if content is None else programme_facts(record.record_type, content,
                                                         date.fromisoformat(archive["birth_date"]))
    stage(session, outbox, [update_message(record.id, _record_dict(record), action, revision),
                            changed_message(record.id, _record_dict(record), action, revision, facts, actor)])


def _writable_record(session: Session, archive: dict, record_id: str) -> Record:
    """The record, locked, provided the archive takes clinical writes and the record is its."""
    require_writable(archive)
    record = session.scalars(sa.select(Record).where(Record.id == record_id).with_for_update()).first()
    if record is None or record.archive_no != archive["archive_no"]:
        raise NotFound("no such record", {"record_id": record_id})
    return record


def amend_form_record(session: Session, archive: dict, record_id: str, payload: dict,
                      actor: Actor) -> tuple[Record, list[dict]]:
    """A corrected form: a new revision becomes current; `payload` = {"content", "reason"}. A
    result the current revision keeps in its former shape may be carried over unchanged."""
    record = _writable_record(session, archive, record_id)
    require_amendable(record.record_type, record.status)
    reason = reason_given(payload.get("reason"))
    previous = session.scalar(sa.select(RecordRevision.content).where(
        RecordRevision.record_id == record_id, RecordRevision.revision == record.current_revision))
    content, suggestions = _validated(session, archive, record.record_type, payload.get("content") or {},
                                      previous=previous)
    revision = next_revision(session, record_id)
    session.connection().execute(REVISIONS.insert(), [{
        "record_id": record_id, "revision": revision, "source_version": 0, "content": content, "origin": "form",
        "author": actor.user, "message_id": None, "reason": reason,
    }])
    record.current_revision, record.occurred_at = revision, _occurred_at(content)
    record.updated_at = sa.func.now()
    session.flush()
    _announce(session, archive, record, "amended", revision, content, actor)
    session.commit()
    return record, suggestions


def mark_entered_in_error(session: Session, archive: dict, record_id: str, reason: str, actor: Actor) -> Record:
    """The record stays, readable, flagged as a mistake with the reason; announced."""
    record = _writable_record(session, archive, record_id)
    require_markable(record.status)
    record.status, record.status_reason = ENTERED_IN_ERROR, f"{actor.user}: {reason_given(reason)}"
    record.updated_at = sa.func.now()
    session.flush()
    _announce(session, archive, record, "entered_in_error", record.current_revision, None, actor)
    session.commit()
    return record


def get_record(session: Session, record_id: str) -> dict[str, Any]:
    """A record with every revision, oldest first."""
    record = session.get(Record, record_id)
    if record is None:
        raise NotFound("no such record", {"record_id": record_id})
    revisions = session.scalars(sa.select(RecordRevision).where(RecordRevision.record_id == record_id)
                                .order_by(RecordRevision.revision)).all()
    return _history(record, revisions)


def _history(record: Record, revisions: list[RecordRevision]) -> dict[str, Any]:
    current = next((r.content for r in revisions if r.revision == record.current_revision), None)
    return {
        "record_id": record.id, "archive_no": record.archive_no, "record_type": record.record_type,
        "kind": record.kind, "status": record.status, "status_reason": record.status_reason,
        "occurred_at": record.occurred_at.isoformat(), "current_revision": record.current_revision,
        "institution_code": record.institution_code,
        "flags": record_flags(record.record_type, current, record.status),
        "revisions": [{
            "revision": r.revision, "origin": r.origin, "author": r.author, "reason": r.reason,
            "recorded_at": r.recorded_at.isoformat(), "content": r.content,
        } for r in revisions],
    }


def get_records(session: Session, record_ids: list[str]) -> dict[str, Any]:
    """`get_record` of each id (two queries for all), and the ids of no record:
    {"records": [...], "missing": [...]} (the records in the order asked)."""
    wanted = list(dict.fromkeys(record_ids))
    records = {r.id: r for r in session.scalars(sa.select(Record).where(Record.id.in_(wanted)))}
    revisions: dict[str, list[RecordRevision]] = {}
    for revision in session.scalars(sa.select(RecordRevision).where(RecordRevision.record_id.in_(list(records)))
                                    .order_by(RecordRevision.record_id, RecordRevision.revision)):
        revisions.setdefault(revision.record_id, []).append(revision)
    return {"records": [_history(records[i], revisions.get(i, [])) for i in wanted if i in records],
            "missing": [i for i in wanted if i not in records]}


def latest_contents(session: Session, archive_nos: list[str], record_type: str) -> dict[str, Any]:
    """The current content of each archive's latest record of `record_type` not entered in error
    (the 个人基本信息表 a registration document carries): {"contents": {archive_no: content}}."""
    latest = (sa.select(Record.archive_no, RecordRevision.content)
              .join(RecordRevision, sa.and_(RecordRevision.record_id == Record.id,
                                            RecordRevision.revision == Record.current_revision))
              .where(Record.archive_no.in_(list(dict.fromkeys(archive_nos))), Record.record_type == record_type,
                     Record.status != "entered_in_error")
              .order_by(Record.archive_no, Record.occurred_at.desc(), Record.id.desc())
              .distinct(Record.archive_no))
    return {"contents": {archive_no: content for archive_no, content in session.execute(latest)}}
