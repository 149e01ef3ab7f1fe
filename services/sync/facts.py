"""The facts of one document, gathered at send time and turned into the builders' input
(`documents.model.DocumentInput`): the archive and its resident's full identity from the
registry (`identity_for_document`, proved with EHR_SYNC_KEY), the record from records
(`get_record`), and for the registration the archive's current 个人基本信息表 (the latest
personal_info record's content). Plain functions over the services' answers; `gather` takes the
calls as arguments.

    gather(row, identity_for_document, get_record, personal_info)
        -> DocumentInput(type_code="HSDB04.01", ...)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timezone
from typing import Any

from shared.errors import NotFound

from services.sync.documents.model import Author, DocumentInput, Institution, Patient
from services.sync.models import Document
from services.sync.queue import ARCHIVE

IdentityCall = Callable[[str], dict[str, Any]]   # archive_no -> identity_for_document's answer
RecordCall = Callable[[str], dict[str, Any]]     # record_id -> get_record's answer
PersonalInfoCall = Callable[[str], "dict[str, Any] | None"]  # archive_no -> the 个人基本信息表's content


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def patient(answer: dict[str, Any]) -> Patient:
    archive, identity = answer["archive"], answer["identity"]
    return Patient(
        archive_no=archive["archive_no"], name=archive["name"], sex=archive["sex"],
        birth_date=_date(archive["birth_date"]), id_type=identity.get("id_type"), id_number=identity.get("id_number"),
        health_card_no=identity.get("health_card_no"), ethnicity=archive.get("ethnicity"),
        current_address=archive.get("current_address"), phone=identity.get("phone"),
        village_code=archive.get("village_code"))


def custodian(answer: dict[str, Any]) -> Institution:
    return Institution(code=answer["archive"]["institution_code"], name=answer.get("institution_name"))


def archive_input(row: Document, answer: dict[str, Any], personal_info: dict[str, Any] | None = None) -> DocumentInput:
    """The registration document (HSDA00.01) of the archive as it is now: the registry's archive
    detail, with the current 个人基本信息表 content under `personal_info` (none when not filled)."""
    archive = dict(answer["archive"])
    if personal_info:
        archive["personal_info"] = personal_info
    keeper = custodian(answer)
    created = archive.get("created_at") or datetime.combine(_date(archive["archive_date"]), time(), timezone.utc)
    return DocumentInput(
        type_code=row.type_code, set_id=row.set_id, version=row.version, patient=patient(answer), custodian=keeper,
        author=Author(user=archive.get("created_by") or "system", institution=keeper),
        effective_time=_instant(created), source=ARCHIVE, content=archive, replaces=row.replaces,
        extra={"archive_date": archive.get("archive_date"), "responsible_doctor": archive.get("responsible_doctor")})


def record_input(row: Document, answer: dict[str, Any], record: dict[str, Any]) -> DocumentInput:
    """The document of the record's revision the row was queued for (its newest when that one is
    not answered)."""
    revisions = record.get("revisions") or []
    chosen = next((r for r in revisions if r.get("revision") == row.revision), revisions[-1] if revisions else None)
    if chosen is None:
        raise NotFound("the record has no revision to document", {"record_id": row.record_id})
    return DocumentInput(
        type_code=row.type_code, set_id=row.set_id, version=row.version, patient=patient(answer),
        custodian=custodian(answer),
        author=Author(user=chosen.get("author") or "system", institution=Institution(code=record["institution_code"])),
        effective_time=_instant(record["occurred_at"]), source=record["record_type"], content=chosen.get("content") or {},
        replaces=row.replaces, record_id=row.record_id,
        extra={"kind": record.get("kind"), "revision": chosen.get("revision"), "recorded_at": chosen.get("recorded_at"),
               "origin": chosen.get("origin"), "reason": chosen.get("reason"), "status": record.get("status")})


def gather(row: Document, identity_for_document: IdentityCall, get_record: RecordCall,
           personal_info: PersonalInfoCall) -> DocumentInput:
    answer = identity_for_document(row.archive_no)
    if row.source == ARCHIVE:
        return archive_input(row, answer, personal_info(answer["archive"]["archive_no"]))
    return record_input(row, answer, get_record(row.record_id))
