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

_RECORDS, _REVISIONS = Record.__table__, RecordRevision.__table__
_CURRENT = sa.and_(_REVISIONS.c.record_id == _RECORDS.c.id, _REVISIONS.c.revision == _RECORDS.c.current_revision)
_STANDING = sa.and_(_RECORDS.c.archive_no == sa.bindparam("archive_no"), _RECORDS.c.status == ACTIVE)

# Built once (the archive number bound at each call): the 首页 runs these on every archive page,
# and building and keying a statement costs about what the database takes to answer it.
_STANDING_RECORDS = (
    sa.select(_RECORDS.c.record_type, _RECORDS.c.occurred_at, _REVISIONS.c.content, _RECORDS.c.id)
    .join(_REVISIONS, _CURRENT)
    .where(_STANDING)
    .order_by(_RECORDS.c.occurred_at.desc(), _RECORDS.c.id)
)
_OF_TYPES = _STANDING_RECORDS.where(_RECORDS.c.record_type.in_(sa.bindparam("record_types", expanding=True)))
_LATEST_OF_TYPES = _OF_TYPES.limit(sa.bindparam("limit"))

_latest = (sa.select(_RECORDS.c.record_type, _RECORDS.c.occurred_at, _RECORDS.c.id).distinct(_RECORDS.c.record_type)
           .where(_STANDING)
           .order_by(_RECORDS.c.record_type, _RECORDS.c.occurred_at.desc(), _RECORDS.c.id).subquery())
_LAST_SERVICES = sa.select(_latest.c.record_type, _latest.c.occurred_at).order_by(_latest.c.occurred_at.desc(),
                                                                                   _latest.c.id)

_listed = _REVISIONS.c.content["diagnoses"]
_diagnoses = sa.func.jsonb_array_elements(
    sa.case((sa.func.jsonb_typeof(_listed) == "array", _listed), else_=sa.cast("[]", JSONB))
).table_valued(sa.column("value", JSONB)).lateral("diagnosis")
_DIAGNOSIS = (_diagnoses.c.value.has_key("system"), _diagnoses.c.value["system"], _diagnoses.c.value["code"])
_ENCOUNTER_DIAGNOSES = (
    sa.select(*_DIAGNOSIS, sa.func.min(_RECORDS.c.occurred_at))
    .select_from(_RECORDS).join(_REVISIONS, _CURRENT).join(_diagnoses, sa.true())
    .where(_STANDING, _RECORDS.c.record_type == "hospital_encounter",
           sa.func.jsonb_typeof(_diagnoses.c.value) == "object")
    .group_by(*_DIAGNOSIS)
)


def standing_records(session: Session, archive_no: str, record_types: Iterable[str] | None = None,
                     limit: int | None = None) -> list[StandingRecord]:
    if record_types is None:
        query, params = _STANDING_RECORDS, {}
    elif limit is None:
        query, params = _OF_TYPES, {"record_types": list(record_types)}
    else:
        query, params = _LATEST_OF_TYPES, {"record_types": list(record_types), "limit": limit}
    return [tuple(row) for row in session.execute(query, {"archive_no": archive_no, **params}).all()]


def last_services(session: Session, archive_no: str) -> dict[str, datetime]:
    """When each type of the archive's standing records last happened, newest first (in the
    order of `standing_records`, which breaks a tie by record id), without reading contents."""
    return dict(session.execute(_LAST_SERVICES, {"archive_no": archive_no}).all())


def encounter_diagnoses(session: Session, archive_no: str) -> list[tuple[str, datetime, dict[str, Any], None]]:
    """The distinct diagnoses of the archive's standing hospital encounters, each as a row of one
    encounter of the earliest time it was made, holding that diagnosis alone: what
    `rules.archive_conditions` reads of the encounters (each diagnosis, and the earliest month),
    without sending every encounter's content. A diagnosis is told apart by its `system` (absent
    is not null: absent means ICD-10) and `code`, all `condition_of_diagnosis` reads; a content
    whose `diagnoses` is not a list, or a diagnosis that is not an object, names nothing here."""
    rows = []
    for with_system, system, code, first_at in session.execute(_ENCOUNTER_DIAGNOSES, {"archive_no": archive_no}):
        diagnosis = {"system": system} if with_system else {}
        if code is not None:
            diagnosis["code"] = code
        rows.append(("hospital_encounter", first_at, {"diagnoses": [diagnosis]}, None))
    return rows
