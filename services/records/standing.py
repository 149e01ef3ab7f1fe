"""An archive's standing records (not marked entered-in-error) as their current revisions say,
newest first: what the 首页 is built from and what a form's rules read of the archive.

    standing_records(session, "11010500300100001", record_types=("personal_info",))
        -> [("personal_info", datetime(2026, 11, 1, tzinfo=...), {...the form...}, "8f3e...")]

And the narrow reads the 首页 takes instead of every content (`services.records.summary`; an
archive of 500 hospital encounters read whole cost about 30 ms of JSON alone on the 2 cores,
these about 6 ms together, most of it the database reading the diagnoses):

    last_services(session, "11010500300100001")
        -> {"hospital_encounter": datetime(2026, 11, 20, ...), "personal_info": datetime(...)}
    encounter_diagnoses(session, "11010500300100001")
        -> [("hospital_encounter", datetime(2015, 6, 3, ...), {"diagnoses": [{"system": "ICD-10", "code": "I10"}]}, None)]
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from services.records.models import Record, RecordRevision
from services.records.rules import ACTIVE

StandingRecord = tuple[str, datetime, dict[str, Any], str]  # record_type, occurred_at, content, record id

_CURRENT = sa.and_(RecordRevision.record_id == Record.id, RecordRevision.revision == Record.current_revision)


def _standing(archive_no: str):
    return sa.and_(Record.archive_no == archive_no, Record.status == ACTIVE)


def standing_records(session: Session, archive_no: str, record_types: Iterable[str] | None = None,
                     limit: int | None = None) -> list[StandingRecord]:
    query = (
        sa.select(Record.record_type, Record.occurred_at, RecordRevision.content, Record.id)
        .join(RecordRevision, _CURRENT)
        .where(_standing(archive_no))
        .order_by(Record.occurred_at.desc(), Record.id)
        .limit(limit)
    )
    if record_types is not None:
        query = query.where(Record.record_type.in_(list(record_types)))
    return [tuple(row) for row in session.execute(query).all()]


def last_services(session: Session, archive_no: str) -> dict[str, datetime]:
    """When each type of the archive's standing records last happened, newest first (in the
    order of `standing_records`, which breaks a tie by record id), without reading contents."""
    latest = (sa.select(Record.record_type, Record.occurred_at, Record.id).distinct(Record.record_type)
              .where(_standing(archive_no))
              .order_by(Record.record_type, Record.occurred_at.desc(), Record.id).subquery())
    query = sa.select(latest.c.record_type, latest.c.occurred_at).order_by(latest.c.occurred_at.desc(), latest.c.id)
    return dict(session.execute(query).all())


def encounter_diagnoses(session: Session, archive_no: str) -> list[tuple[str, datetime, dict[str, Any], None]]:
    """The distinct diagnoses of the archive's standing hospital encounters, each as a row of one
    encounter of the earliest time it was made, holding that diagnosis alone: what
    `rules.archive_conditions` reads of the encounters (each diagnosis, and the earliest month),
    without sending every encounter's content. A diagnosis is told apart by its `system` (absent
    is not null: absent means ICD-10) and `code`, all `condition_of_diagnosis` reads; a content
    whose `diagnoses` is not a list, or a diagnosis that is not an object, names nothing here."""
    listed = RecordRevision.content["diagnoses"]
    diagnoses = sa.func.jsonb_array_elements(
        sa.case((sa.func.jsonb_typeof(listed) == "array", listed), else_=sa.cast("[]", JSONB))
    ).table_valued(sa.column("value", JSONB)).lateral("diagnosis")
    value = diagnoses.c.value
    has_system, system, code = value.has_key("system"), value["system"], value["code"]
    query = (
        sa.select(has_system, system, code, sa.func.min(Record.occurred_at))
        .select_from(Record).join(RecordRevision, _CURRENT).join(diagnoses, sa.true())
        .where(_standing(archive_no), Record.record_type == "hospital_encounter",
               sa.func.jsonb_typeof(value) == "object")
        .group_by(has_system, system, code)
    )
    rows = []
    for with_system, system_value, code_value, first_at in session.execute(query).all():
        diagnosis = {"system": system_value} if with_system else {}
        if code_value is not None:
            diagnosis["code"] = code_value
        rows.append(("hospital_encounter", first_at, {"diagnoses": [diagnosis]}, None))
    return rows
