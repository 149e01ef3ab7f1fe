"""The daily sweep: residents who are 65 or more in the year are enrolled in the elderly programme
on their own (not a manual step), and what falls due within the week or is past due is announced
(`follow_up_due`, `follow_up_overdue`), once per due date.

Safe with several processes (`--replicas programmes=2`): the sweep holds a transaction-level
advisory lock, so a second process finding it taken does nothing that round; an enrolment is
inserted with `ON CONFLICT DO NOTHING` on (resident, programme), and each announcement marks its
schedule (`announced_due` / `announced_overdue` = the due date) in the same UPDATE that selects it,
so nothing is enrolled or announced twice even without the lock. Running it again the same day
changes nothing; the timer runs it every hour, so a resident who became known today is enrolled
today.

    sweep(session, date(2027, 1, 1))  -> {"swept": True, "enrolled": 12, "due": 40, "overdue": 3}
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.actor import SYSTEM
from shared.contracts.events import FOLLOW_UP_DUE, FOLLOW_UP_OVERDUE

from services.programmes import eligibility, enrolments
from services.programmes.announce import announce
from services.programmes.models import Enrolment, Resident, Schedule
from services.programmes.residents import view
from services.programmes.schedules import RULES

LOCK_KEY = 0x70726F67  # "prog": the sweep's advisory lock
CHUNK = 500


def sweep(session: Session, today: date) -> dict[str, Any]:
    """Run the sweep for `today`; commits. `swept` is False when another process holds it."""
    if not session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(LOCK_KEY))):
        session.rollback()
        return {"swept": False, "enrolled": 0, "due": 0, "overdue": 0}
    enrolled = enrol_elderly(session, today)
    due, overdue = announce_due(session, today)
    session.commit()
    return {"swept": True, "enrolled": enrolled, "due": due, "overdue": overdue}


def enrol_elderly(session: Session, today: date) -> int:
    """Enrol every known, active, permanent resident eligible for the elderly programme this year
    who was never enrolled in it (one whose enrolment ended is not enrolled again by the sweep)."""
    born_by = eligibility.elderly_born_by(today.year)
    never = ~sa.exists().where(Enrolment.resident_id == Resident.id, Enrolment.programme == "elderly")
    enrolled, after = 0, 0
    while True:
        residents = session.scalars(
            sa.select(Resident).where(Resident.status == "active", Resident.known, Resident.birth_date <= born_by,
                                      Resident.institution_code.is_not(None), Resident.id > after, never)
            .order_by(Resident.id).limit(CHUNK).with_for_update(skip_locked=True)).all()
        if not residents:
            return enrolled
        for resident in residents:
            after = resident.id
            if not eligibility.eligible("elderly", view(resident), today):
                continue
            if enrolments.create(session, resident, "elderly", today, resident.institution_code,
                                 resident.responsible_doctor, "age", SYSTEM) is not None:
                enrolled += 1


def announce_due(session: Session, today: date) -> tuple[int, int]:
    """Announce each schedule newly due within the week, and each newly past due, once per due date."""
    soon = today + timedelta(days=RULES.due_soon_days)
    counts = []
    for event_type, window, marker in (
            (FOLLOW_UP_DUE, sa.and_(Schedule.due_date >= today, Schedule.due_date < soon), Schedule.announced_due),
            (FOLLOW_UP_OVERDUE, Schedule.due_date < today, Schedule.announced_overdue)):
        rows = session.execute(
            sa.update(Schedule).where(Schedule.active, window, marker.is_distinct_from(Schedule.due_date))
            .values({marker.key: Schedule.due_date})
            .returning(Schedule.archive_no, Schedule.programme, Schedule.service, Schedule.due_date,
                       Schedule.due_reason, Schedule.institution_code, Schedule.village_code,
                       Schedule.responsible_doctor, Schedule.urgent)).all()
        for row in rows:
            announce(session, event_type, {
                "archive_no": row.archive_no, "programme": row.programme, "service": row.service,
                "due_date": row.due_date, "reason": row.due_reason, "institution_code": row.institution_code,
                "village_code": row.village_code, "responsible_doctor": row.responsible_doctor, "urgent": row.urgent,
                "days_overdue": max(0, (today - row.due_date).days)}, SYSTEM)
        counts.append(len(rows))
    return counts[0], counts[1]
