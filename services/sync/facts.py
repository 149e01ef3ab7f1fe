"""The facts of the documents a sender claimed, gathered in one batch and turned into the builders'
input (`documents.model.DocumentInput`): the archives and their residents' full identities from
the registry (`identities_for_documents`, proved with EHR_SYNC_KEY), the records from records
(`get_records`), and for registrations the archive's current 个人基本信息表 (`latest_contents` of
personal_info). Plain functions over the services' answers; `gather_batch` takes the calls as
arguments: three RPCs for a batch, whatever its size, made at once.

    gather_batch(rows, identities, records, personal_infos)
        -> {row.id: DocumentInput(type_code="HSDB04.01", ...) | NotFound(...)}
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timezone
from typing import Any

from shared.errors import NotFound

from services.sync.documents.model import Author, DocumentInput, Institution, Patient
from services.sync.models import Document
from services.sync.queue import ARCHIVE

IdentitiesCall = Callable[[list[str]], dict[str, Any]]  # archive_nos -> identities_for_documents' answer
RecordsCall = Callable[[list[str]], dict[str, Any]]     # record_ids -> get_records' answer
PersonalInfosCall = Callable[[list[str]], dict[str, Any]]  # archive_nos -> {archive_no: 个人基本信息表 content}
AtOnce = Callable[..., list[Any]]  # at_once(*calls) -> their answers, in order (shared.transport.together)


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


def one_after_another(*calls: Callable[[], Any]) -> list[Any]:
    """`AtOnce` without concurrency."""
    return [call() for call in calls]


def gather_batch(rows: list[Document], identities: IdentitiesCall, records: RecordsCall,
                 personal_infos: PersonalInfosCall, at_once: AtOnce = one_after_another
                 ) -> dict[int, DocumentInput | Exception]:
    """Each row's DocumentInput, or the exception that stops it (NotFound: the archive or record
    leads nowhere; another: the facts could not be read into a document). A failing call raises:
    the batch waits. The three calls go `at_once` (the service's green threads: the batch waits
    for the slowest, not their sum); the 个人基本信息表 of a registration is asked by the row's
    archive number, and once more by the survivor's for an archive the registry answers merged."""
    record_ids = list(dict.fromkeys(row.record_id for row in rows if row.source != ARCHIVE and row.record_id))
    registering = list(dict.fromkeys(row.archive_no for row in rows if row.source == ARCHIVE))
    known, found, contents = at_once(
        lambda: identities(list(dict.fromkeys(row.archive_no for row in rows))),
        lambda: records(record_ids) if record_ids else {"records": []},
        lambda: personal_infos(registering) if registering else {})
    answers = known["identities"]
    by_id = {record["record_id"]: record for record in found["records"]}
    survivors = [answers[no]["archive"]["archive_no"] for no in registering if no in answers]
    merged = list(dict.fromkeys(no for no in survivors if no not in registering))
    if merged:
        contents = {**contents, **personal_infos(merged)}
    out: dict[int, DocumentInput | Exception] = {}
    for row in rows:
        answer = answers.get(row.archive_no)
        try:
            if answer is None:
                raise NotFound("no such archive", {"archive_no": row.archive_no})
            if row.source == ARCHIVE:
                out[row.id] = archive_input(row, answer, contents.get(answer["archive"]["archive_no"]))
            elif row.record_id not in by_id:
                raise NotFound("no such record", {"record_id": row.record_id})
            else:
                out[row.id] = record_input(row, answer, by_id[row.record_id])
        except Exception as exc:  # noqa: BLE001 - this row's facts; the others go on
            out[row.id] = exc
    return out
