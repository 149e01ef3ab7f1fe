"""Bulk import of an existing register (`ehr import residents FILE`): whole archives or none.

Rows are read in chunks; each chunk is validated row by row with the same rules as creation
(ArchiveCreateSchema: GB 11643, consistency, known village and institution), checked against
the ID numbers already registered (also those merged away) and against earlier rows of the
file, and the accepted rows are written in one transaction per chunk: archives with their
serials allocated per village in one step, revision 1 of each, and one `archive_created`
event each through the outbox. A rejected row is reported with its line and the reasons,
ID numbers masked; it never leaves anything behind. Near-duplicate review (same name, sex and
birth date...) is for interactive creation; an imported register is trusted on that point.

CSV columns: name, sex, birth_date (YYYY-MM-DD), id_type (default 01), id_number, phone,
village_code, institution_code.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.api import ArchiveCreateSchema
from shared.archive_no import SERIAL_MAX, make_archive_number
from shared.contracts import ARCHIVE_CREATED, field_errors
from shared.identity import mask_id_number, mask_phone
from shared.outbox import stage
from shared.pii import PiiBox

from services.registry import aliases, revisions
from services.registry.keys import id_index, name_pinyin, phone_index
from services.registry.models import Archive, ArchiveRevision, ArchiveSerial, Division, Institution, outbox
from services.registry.usecases import event_message

COLUMNS = ("name", "sex", "birth_date", "id_type", "id_number", "phone", "village_code", "institution_code")


@dataclass
class ImportReport:
    read: int = 0
    created: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


def read_csv(path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) pairs; empty cells become absent fields. ValueError on a bad header."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("name", "sex", "birth_date", "id_number", "village_code", "institution_code")
                   if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"the CSV header lacks: {', '.join(missing)}")
        for row in reader:
            yield reader.line_num, {k: v.strip() for k, v in row.items() if k in COLUMNS and v and v.strip()}


def import_residents(session: Session, pii: PiiBox, rows: Iterable[tuple[int, dict]], actor: Actor,
                     chunk_size: int = 1000, progress: Callable[[int], None] | None = None) -> ImportReport:
    report = ImportReport()
    villages = set(session.scalars(sa.select(Division.code).where(Division.level == "village")))
    institutions = set(session.scalars(sa.select(Institution.code)))
    seen: set[bytes] = set()
    chunk: list[tuple[int, dict]] = []
    for line, row in rows:
        chunk.append((line, row))
        if len(chunk) >= chunk_size:
            _import_chunk(session, pii, chunk, actor, report, villages, institutions, seen)
            if progress:
                progress(len(chunk))
            chunk = []
    if chunk:
        _import_chunk(session, pii, chunk, actor, report, villages, institutions, seen)
        if progress:
            progress(len(chunk))
    return report


def _import_chunk(session, pii, chunk, actor, report, villages, institutions, seen) -> None:
    schema = ArchiveCreateSchema()
    accepted: list[tuple[int, dict, bytes]] = []
    for line, row in chunk:
        report.read += 1
        try:
            data = schema.load(row)
        except ValidationError as exc:
            report.rejected.append({"line": line, "errors": field_errors(exc)})
            continue
        errors = {}
        if data["village_code"] not in villages:
            errors["village_code"] = ["Unknown village."]
        if data["institution_code"] not in institutions:
            errors["institution_code"] = ["Unknown institution."]
        index = id_index(pii, data["id_type"], data["id_number"])
        if index in seen:
            errors["id_number"] = [f"{mask_id_number(data['id_number'])} appears on an earlier line."]
        if errors:
            report.rejected.append({"line": line, "errors": errors})
            continue
        seen.add(index)
        accepted.append((line, data, index))

    indexes = {index for _, _, index in accepted}
    taken = dict(session.execute(sa.select(Archive.id_number_index, Archive.archive_no)
                                 .where(Archive.id_number_index.in_(indexes))).all()) if indexes else {}
    taken = {bytes(k): v for k, v in taken.items()}
    taken.update(aliases.moved_indexes(session, indexes - set(taken)) if indexes else {})
    fresh = []
    for line, data, index in accepted:
        if index in taken:
            report.rejected.append({"line": line, "errors": {"id_number": [
                f"{mask_id_number(data['id_number'])} already has archive {taken[index]}."]}})
        else:
            fresh.append(data | {"_index": index})
    if not fresh:
        session.commit()
        return

    by_village: dict[str, list[dict]] = defaultdict(list)
    for data in fresh:
        by_village[data["village_code"]].append(data)
    archives, revision_rows, events = [], [], []
    for village, people in sorted(by_village.items()):
        last = session.execute(
            pg_insert(ArchiveSerial).values(village_code=village, last_serial=len(people))
            .on_conflict_do_update(index_elements=[ArchiveSerial.village_code],
                                   set_={"last_serial": ArchiveSerial.last_serial + len(people)})
            .returning(ArchiveSerial.last_serial)
        ).scalar_one()
        if last > SERIAL_MAX:
            session.rollback()
            raise ValueError(f"village {village} would pass {SERIAL_MAX} archives")
        for serial, data in enumerate(people, start=last - len(people) + 1):
            archive_no = make_archive_number(village, serial).value
            masked = mask_id_number(data["id_number"])
            archives.append({
                "archive_no": archive_no, "name": data["name"], "name_pinyin": name_pinyin(data["name"]),
                "sex": data["sex"], "birth_date": data["birth_date"], "id_type": data["id_type"],
                "id_number_enc": pii.encrypt(data["id_number"]), "id_number_index": data["_index"],
                "id_number_masked": masked,
                "phone_enc": pii.encrypt(data["phone"]) if data.get("phone") else None,
                "phone_index": phone_index(pii, data["phone"]) if data.get("phone") else None,
                "village_code": village, "institution_code": data["institution_code"],
                "created_by": actor.user, "version": 1,
            })
            changes = {k: [None, v] for k, v in {
                "archive_no": archive_no, "status": "active", "name": data["name"], "sex": data["sex"],
                "birth_date": data["birth_date"].isoformat(), "id_type": data["id_type"], "id_number": masked,
                "phone": mask_phone(data["phone"]) if data.get("phone") else None,
                "village_code": village, "institution_code": data["institution_code"]}.items() if v is not None}
            revision_rows.append({"archive_no": archive_no, "revision": 1, "action": revisions.CREATED,
                                  "reason": "imported", "changes": changes, "actor_user": actor.user,
                                  "actor_institution": actor.institution_code, "actor_role": actor.role})
            events.append(event_message(ARCHIVE_CREATED, {
                "archive_no": archive_no, "village_code": village, "institution_code": data["institution_code"],
                "identity_keys": [data["_index"].hex()]}, actor))
    conn = session.connection()
    conn.execute(Archive.__table__.insert(), archives)
    conn.execute(ArchiveRevision.__table__.insert(), revision_rows)
    stage(session, outbox, events)
    session.commit()
    report.created += len(archives)
