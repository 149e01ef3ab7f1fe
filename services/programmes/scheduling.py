"""The schedules of enrolments as stored: each enrolment's services (`schedules.SCHEDULES`) get a
`schedules` row holding the computed due state, refreshed whenever the resident's records, the
enrolment or the resident change, and the columns the work list filters on (archive number,
village, institution, responsible doctor, active), copied so that a page is one indexed query.

    refresh(session, enrolment, resident)   -> {"follow_up": Due(...)}
    facts_of(session, resident_id)           -> [Fact(...), ...]   (the records as they now stand)
    rows_of(session, [enrolment_id, ...])    -> {enrolment_id: {"follow_up": Schedule}}   (for a batch)

A batch of events passes the facts and the schedule rows it loaded at once, and `flush=False`
(it flushes once for the batch).
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.programmes.models import Enrolment, Resident, Schedule, ServiceRecord
from services.programmes.schedules import SCHEDULES, Due, Fact, compute


def facts_of(session: Session, resident_id: int) -> list[Fact]:
    """The schedule facts of a resident's records that are not struck out."""
    rows = session.scalars(sa.select(ServiceRecord).where(ServiceRecord.resident_id == resident_id,
                                                          ServiceRecord.status == "active")).all()
    return [fact_of(row) for row in rows]


def fact_of(row: ServiceRecord) -> Fact:
    return Fact(row.record_id, row.record_type, row.visit_date, tuple(row.programmes or ()),
                dict(row.classifications or {}), row.visit_method, row.next_visit_date, tuple(row.urgent or ()))


def rows_of(session: Session, enrolment_ids) -> dict[int, dict[str, Schedule]]:
    """The schedule rows of these enrolments, by enrolment and service, in one query."""
    found: dict[int, dict[str, Schedule]] = {enrolment_id: {} for enrolment_id in enrolment_ids}
    if found:
        for row in session.scalars(sa.select(Schedule).where(Schedule.enrolment_id.in_(list(found)))):
            found[row.enrolment_id][row.service] = row
    return found


def _rows(session: Session, enrolment: Enrolment, rows: dict[str, Schedule] | None = None) -> dict[str, Schedule]:
    """The enrolment's schedule rows by service (`rows`: those loaded already, completed in
    place), one made for each service of its programme that has none yet."""
    if rows is None:
        rows = {s.service: s
                for s in session.scalars(sa.select(Schedule).where(Schedule.enrolment_id == enrolment.id))}
    for rule in SCHEDULES[enrolment.programme]:
        if rule.service not in rows:
            rows[rule.service] = Schedule(enrolment_id=enrolment.id, service=rule.service,
                                          programme=enrolment.programme, urgent_triggers=[],
                                          consecutive_unsatisfactory=0, urgent=False)
            session.add(rows[rule.service])
    return rows


def refresh(session: Session, enrolment: Enrolment, resident: Resident, facts: list[Fact] | None = None,
            rows: dict[str, Schedule] | None = None, flush: bool = True) -> dict[str, Due]:
    """Recompute and store each of the enrolment's schedules; answers the new state by service."""
    facts = facts_of(session, resident.id) if facts is None else facts
    rows = _rows(session, enrolment, rows)
    dues = {}
    for rule in SCHEDULES[enrolment.programme]:
        due = compute(rule, enrolment.programme, facts, enrolment.enrolled_on)
        row = rows[rule.service]
        _route(row, enrolment, resident)
        row.due_date, row.due_reason = due.due_date, due.reason
        row.last_date, row.last_record_id, row.last_face_to_face = due.last_date, due.last_record_id, due.last_face_to_face
        row.consecutive_unsatisfactory = due.consecutive_unsatisfactory
        row.urgent, row.urgent_triggers, row.urgent_record_id = due.urgent, list(due.urgent_triggers), due.urgent_record_id
        row.updated_at = datetime.now(timezone.utc)
        dues[rule.service] = due
    if flush:
        session.flush()
    return dues


def _route(row: Schedule, enrolment: Enrolment, resident: Resident) -> None:
    row.archive_no, row.village_code = resident.archive_no, resident.village_code
    row.institution_code, row.responsible_doctor = enrolment.institution_code, enrolment.responsible_doctor
    row.active = enrolment.status == "active" and resident.status == "active"


def reroute(session: Session, resident: Resident) -> None:
    """Copy the resident's and enrolments' current routing columns onto their schedules (after a
    transfer, a new 责任医生, a termination, an enrolment ended or resumed)."""
    for enrolment in session.scalars(sa.select(Enrolment).where(Enrolment.resident_id == resident.id)):
        for row in _rows(session, enrolment).values():
            _route(row, enrolment, resident)
    session.flush()
