"""Programme figures (domain.md §5, related indicators [M]) for an institution or a division, for
one year, computed here from the enrolments and the records' facts; counts and rates only.

- under management: enrolled on or before the year's end and not ended before its start;
- 规范管理率 (hypertension, T2DM): those with at least `RULES.min_face_to_face_per_year` face-to-face
  follow-ups in the year ÷ under management;
- 血压控制率 / 血糖控制率: those whose last follow-up of the year met the target
  (`schedules.on_target`: < 140/90, < 150/90 from 65; FBG < 7.0) ÷ under management;
- 老年人健康管理率: elderly with the annual check (a 健康体检表 naming `elderly`) in the year ÷ elderly
  under management; 老年人中医药健康管理率: with the TCM service in the year ÷ the same.

    figures(session, {"prefix": "110105101", "institution_code": None}, 2026)
    -> {"year": 2026, "division": "110105101", "institution_code": None,
        "hypertension": {"under_management": 120, "standard_managed": 80, "standard_rate": 66.7,
                         "controlled": 70, "control_rate": 58.3}, "type2_diabetes": {...},
        "elderly": {"under_management": 300, "checked": 180, "health_management_rate": 60.0,
                    "tcm": 150, "tcm_rate": 50.0}}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.programmes.models import Enrolment, Resident, ServiceRecord
from services.programmes.schedules import FACE_TO_FACE_METHODS, RULES, SCHEDULES, age_on, on_target


def rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _in_scope(scope: Mapping[str, Any]):
    clauses = []
    if scope.get("prefix"):
        clauses.append(Resident.village_code.startswith(scope["prefix"], autoescape=True))
    if scope.get("institution_code"):
        clauses.append(Enrolment.institution_code == scope["institution_code"])
    return sa.and_(*clauses) if clauses else sa.false()


def _records(programme_name: str, start: date, end: date, record_types: tuple[str, ...] | None = None):
    clauses = [ServiceRecord.resident_id == Enrolment.resident_id, ServiceRecord.status == "active",
               ServiceRecord.programmes.any(programme_name), ServiceRecord.visit_date.between(start, end)]
    if record_types:
        clauses.append(ServiceRecord.record_type.in_(record_types))
    return clauses


def figures(session: Session, scope: Mapping[str, Any], year: int) -> dict[str, Any]:
    start, end = date(year, 1, 1), date(year, 12, 31)
    managed = [_in_scope(scope), Enrolment.enrolled_on <= end,
               sa.or_(Enrolment.status == "active", Enrolment.ended_on >= start)]
    answer: dict[str, Any] = {"year": year, "division": scope.get("prefix"), "institution_code": scope.get("institution_code")}
    for programme in ("hypertension", "type2_diabetes"):
        face = (sa.select(sa.func.count()).where(*_records(programme, start, end), sa.or_(
            ServiceRecord.visit_method.is_(None), ServiceRecord.visit_method.in_(FACE_TO_FACE_METHODS)))
            .scalar_subquery())
        last = (sa.select(ServiceRecord.sbp, ServiceRecord.dbp, ServiceRecord.fbg, ServiceRecord.visit_date)
                .where(*_records(programme, start, end))
                .order_by(ServiceRecord.visit_date.desc(), ServiceRecord.record_id.desc()).limit(1)
                .lateral())
        rows = session.execute(
            sa.select(face.label("face"), Resident.birth_date, last.c.sbp, last.c.dbp, last.c.fbg, last.c.visit_date)
            .select_from(Enrolment).join(Resident, Resident.id == Enrolment.resident_id)
            .outerjoin(last, sa.true()).where(Enrolment.programme == programme, *managed)).all()
        standard = sum(1 for r in rows if r.face >= RULES.min_face_to_face_per_year)
        controlled = sum(1 for r in rows if r.visit_date is not None and on_target(
            programme, r.sbp, r.dbp, r.fbg, age_on(r.birth_date, r.visit_date) if r.birth_date else None))
        answer[programme] = {"under_management": len(rows), "standard_managed": standard,
                             "standard_rate": rate(standard, len(rows)), "controlled": controlled,
                             "control_rate": rate(controlled, len(rows))}
    check, tcm = SCHEDULES["elderly"]
    had = {rule.service: sa.exists().where(*_records(rule.satisfied_by, start, end, rule.record_types))
           for rule in (check, tcm)}
    row = session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(had[check.service]), sa.func.count().filter(had[tcm.service]))
        .select_from(Enrolment).join(Resident, Resident.id == Enrolment.resident_id)
        .where(Enrolment.programme == "elderly", *managed)).one()
    answer["elderly"] = {"under_management": row[0], "checked": row[1], "health_management_rate": rate(row[1], row[0]),
                         "tcm": row[2], "tcm_rate": rate(row[2], row[0])}
    return answer
