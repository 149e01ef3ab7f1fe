"""Enrolment (纳入管理): enrol a resident in a programme, end an enrolment (death, migration out,
loss to follow-up, cured, no longer eligible: a reason and a date) and resume it; every step is
kept in `enrolment_events`. Eligibility is asked of `eligibility` (one place).

    enrol(session, resident, {"programme": "hypertension", "enrolled_on": date(2026, 12, 1)}, actor)
    end(session, resident, "hypertension", {"reason": "cured", "date": date(2026, 12, 20)}, actor)
    resume(session, resident, "hypertension", {"date": date(2027, 1, 5)}, actor)
    programmes_of(session, resident)   -> {"archive_no": ..., "programmes": [{..., "history": [...]}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.contracts.events import ENROLLED
from shared.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from shared import clock

from services.programmes import eligibility, scheduling
from services.programmes.announce import announce
from services.programmes.models import Enrolment, EnrolmentEvent, Resident, Schedule, Suggestion
from services.programmes.residents import end_enrolment, record_step, view
from services.programmes.schedules import REASONS, SCHEDULES

END_REASONS = ("death", "migration_out", "loss_to_follow_up", "cured", "not_eligible")


def _require_eligible(programme: str, resident: Resident, on: date) -> None:
    found = eligibility.problems(programme, view(resident), on)
    if found:
        raise InvalidTransition("the resident may not be enrolled in this programme", found)


def _require_institution(resident: Resident, institution_code: str | None) -> str:
    code = institution_code or resident.institution_code
    if not code:
        raise ValidationFailed("no managing institution", {"institution_code": [
            "The archive's managing institution is not known here yet: name it."]})
    return code


def create(session: Session, resident: Resident, programme: str, on: date, institution_code: str,
           responsible_doctor: str | None, source: str, actor: Actor) -> Enrolment | None:
    """A new enrolment (eligibility already checked), its schedules and `enrolled`; None when the
    resident has an enrolment in that programme already (a concurrent sweep, say)."""
    enrolment_id = session.scalar(
        pg_insert(Enrolment).values(resident_id=resident.id, programme=programme, status="active", enrolled_on=on,
                                    institution_code=institution_code, responsible_doctor=responsible_doctor,
                                    source=source)
        .on_conflict_do_nothing(index_elements=["resident_id", "programme"]).returning(Enrolment.id))
    if enrolment_id is None:
        return None
    enrolment = session.get(Enrolment, enrolment_id)
    record_step(session, enrolment, resident, "enrolled", actor, on, source)
    scheduling.refresh(session, enrolment, resident)
    announce(session, ENROLLED, {"archive_no": resident.archive_no, "programme": programme, "enrolled_on": on,
                                 "institution_code": institution_code, "responsible_doctor": responsible_doctor,
                                 "source": source, "resumed": False}, actor)
    return enrolment


def enrol(session: Session, resident: Resident, data: Mapping[str, Any], actor: Actor, source: str = "clinician") -> Enrolment:
    """Enrol the resident; Conflict if an enrolment exists (an ended one is resumed instead)."""
    programme, on = data["programme"], data.get("enrolled_on") or clock.today()
    existing = _enrolment(session, resident, programme)
    if existing is not None:
        hint = "it is active" if existing.status == "active" else "it ended: resume it"
        raise Conflict(f"the resident is enrolled in this programme already ({hint})",
                       {"programme": programme, "status": existing.status})
    _require_eligible(programme, resident, on)
    institution = _require_institution(resident, data.get("institution_code"))
    doctor = data.get("responsible_doctor") or resident.responsible_doctor
    enrolment = create(session, resident, programme, on, institution, doctor, source, actor)
    if enrolment is None:
        raise Conflict("the resident is enrolled in this programme already", {"programme": programme})
    _close_suggestions(session, resident, programme, actor)
    return enrolment


def _close_suggestions(session: Session, resident: Resident, programme: str, actor: Actor) -> None:
    """An open suggestion of the programme is settled by the enrolment."""
    session.execute(sa.update(Suggestion).where(Suggestion.resident_id == resident.id, Suggestion.programme == programme,
                                                Suggestion.status == "open")
                    .values(status="confirmed", decided_by=actor.user, decided_at=datetime.now(timezone.utc)))


def _enrolment(session: Session, resident: Resident, programme: str, lock: bool = True) -> Enrolment | None:
    stmt = sa.select(Enrolment).where(Enrolment.resident_id == resident.id, Enrolment.programme == programme)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def _require_enrolment(session: Session, resident: Resident, programme: str) -> Enrolment:
    enrolment = _enrolment(session, resident, programme)
    if enrolment is None:
        raise NotFound("the resident is not enrolled in this programme", {"programme": programme})
    return enrolment


def end(session: Session, resident: Resident, programme: str, data: Mapping[str, Any], actor: Actor) -> Enrolment:
    enrolment = _require_enrolment(session, resident, programme)
    if enrolment.status != "active":
        raise InvalidTransition("the enrolment has ended already", {"programme": programme, "status": enrolment.status})
    on = data["date"]
    if on < enrolment.enrolled_on:
        raise ValidationFailed("the end is before the enrolment", {"date": [
            f"Must not be before the enrolment ({enrolment.enrolled_on.isoformat()})."]})
    end_enrolment(session, enrolment, resident, data["reason"], on, actor, data.get("note"))
    scheduling.reroute(session, resident)
    return enrolment


def resume(session: Session, resident: Resident, programme: str, data: Mapping[str, Any], actor: Actor) -> Enrolment:
    enrolment = _require_enrolment(session, resident, programme)
    if enrolment.status == "active":
        raise InvalidTransition("the enrolment is active", {"programme": programme, "status": enrolment.status})
    on = data.get("date") or clock.today()
    if enrolment.ended_on and on < enrolment.ended_on:
        raise ValidationFailed("the resumption is before the end", {"date": [
            f"Must not be before the end ({enrolment.ended_on.isoformat()})."]})
    _require_eligible(programme, resident, on)
    enrolment.status, enrolment.ended_on, enrolment.end_reason, enrolment.end_note = "active", None, None, None
    enrolment.institution_code = resident.institution_code or enrolment.institution_code
    enrolment.responsible_doctor = data.get("responsible_doctor") or enrolment.responsible_doctor \
        or resident.responsible_doctor
    enrolment.updated_at = datetime.now(timezone.utc)
    record_step(session, enrolment, resident, "resumed", actor, on, None, data.get("note"))
    scheduling.refresh(session, enrolment, resident)
    announce(session, ENROLLED, {"archive_no": resident.archive_no, "programme": programme, "enrolled_on": on,
                                 "institution_code": enrolment.institution_code,
                                 "responsible_doctor": enrolment.responsible_doctor, "source": "clinician",
                                 "resumed": True}, actor)
    return enrolment


# -- reading ---------------------------------------------------------------------------------------


def programmes_of(session: Session, resident: Resident) -> dict[str, Any]:
    """The resident's enrolments, each with its schedules and its history (oldest first)."""
    enrolments = session.scalars(sa.select(Enrolment).where(Enrolment.resident_id == resident.id)
                                 .order_by(Enrolment.enrolled_on, Enrolment.id)).all()
    ids = [e.id for e in enrolments]
    steps = session.scalars(sa.select(EnrolmentEvent).where(EnrolmentEvent.enrolment_id.in_(ids))
                            .order_by(EnrolmentEvent.id)).all() if ids else []
    schedules = session.scalars(sa.select(Schedule).where(Schedule.enrolment_id.in_(ids))
                                .order_by(Schedule.id)).all() if ids else []
    return {"archive_no": resident.archive_no, "programmes": [
        enrolment_view(e, [s for s in schedules if s.enrolment_id == e.id],
                       [st for st in steps if st.enrolment_id == e.id]) for e in enrolments]}


def enrolment_view(enrolment: Enrolment, schedules: list[Schedule], steps: list[EnrolmentEvent]) -> dict[str, Any]:
    labels = {rule.service: rule.label for rule in SCHEDULES.get(enrolment.programme, ())}
    return {
        "programme": enrolment.programme, "status": enrolment.status, "enrolled_on": enrolment.enrolled_on,
        "institution_code": enrolment.institution_code, "responsible_doctor": enrolment.responsible_doctor,
        "source": enrolment.source, "ended_on": enrolment.ended_on, "end_reason": enrolment.end_reason,
        "schedules": [{"service": s.service, "label": labels.get(s.service), "due_date": s.due_date,
                       "reason": s.due_reason, "reason_text": REASONS.get(s.due_reason or ""),
                       "last_date": s.last_date, "consecutive_unsatisfactory": s.consecutive_unsatisfactory,
                       "urgent": s.urgent, "urgent_triggers": list(s.urgent_triggers or [])} for s in schedules],
        "history": [{"event": st.event, "date": st.on_date, "reason": st.reason, "note": st.note,
                     "archive_no": st.archive_no, "institution_code": st.institution_code, "actor": st.actor,
                     "at": st.at} for st in steps],
    }
