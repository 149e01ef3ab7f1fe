"""The work list of an institution or a responsible doctor: urgent referrals first, then what is
overdue (with the days) and what falls due this week, each item saying why; filtered by village
and programme; keyset-paged. One indexed query on `schedules` (its partial indexes on
institution, doctor and village, each with the due date).

    worklist(session, {"institution_code": "T1101051011", "prefix": "110105101"}, today=date(2026, 12, 7),
             kind="all", responsible_doctor=None, village_code=None, programme=None, limit=50, cursor=None)
    -> {"today": date(2026, 12, 7), "items": [{"archive_no": ..., "status": "urgent", "reason": "urgent_referral",
        "reason_text": "紧急转诊指征，2周内主动随访", "days_overdue": 0, ...}], "next": "..." | None}

`kind`: `all` (urgent, overdue or due within the week), `urgent`, `overdue`, `due` (due within the
week, not yet overdue).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.errors import ValidationFailed
from shared.paging import check_limit, decode_cursor, encode_cursor

from services.programmes.scope import in_scope
from services.programmes.models import Schedule
from services.programmes.schedules import REASONS, RULES, SCHEDULES

KINDS = ("all", "urgent", "overdue", "due")
LABELS = {(programme, rule.service): rule.label for programme, rules in SCHEDULES.items() for rule in rules}


def worklist(session: Session, scope: Mapping[str, Any], today: date, kind: str = "all",
             responsible_doctor: str | None = None, village_code: str | None = None, programme: str | None = None,
             limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
    check_limit(limit)
    if kind not in KINDS:
        raise ValidationFailed("invalid kind", {"kind": [f"One of {', '.join(KINDS)}."]})
    soon = today + timedelta(days=RULES.due_soon_days)
    window = {"all": sa.or_(Schedule.urgent, Schedule.due_date < soon), "urgent": Schedule.urgent,
              "overdue": Schedule.due_date < today,
              "due": sa.and_(Schedule.due_date >= today, Schedule.due_date < soon)}[kind]
    not_urgent = sa.cast(sa.not_(Schedule.urgent), sa.Integer)
    stmt = sa.select(Schedule).where(Schedule.active, in_scope(scope, Schedule.institution_code, Schedule.village_code), window)
    if responsible_doctor:
        stmt = stmt.where(Schedule.responsible_doctor == responsible_doctor)
    if village_code:
        stmt = stmt.where(Schedule.village_code == village_code)
    if programme:
        stmt = stmt.where(Schedule.programme == programme)
    if cursor:
        rank, due, last_id = decode_cursor(cursor, parts=3)
        try:
            after = (int(rank), date.fromisoformat(due), int(last_id))
        except ValueError:
            raise ValidationFailed("invalid cursor", {"cursor": ["Not a cursor this API returned."]}) from None
        stmt = stmt.where(sa.tuple_(not_urgent, Schedule.due_date, Schedule.id) > sa.tuple_(*after))
    rows = session.scalars(stmt.order_by(not_urgent, Schedule.due_date, Schedule.id).limit(limit + 1)).all()
    page = rows[:limit]
    last = page[-1] if page else None
    return {"today": today, "items": [item(row, today) for row in page],
            "next": encode_cursor(int(not last.urgent), last.due_date.isoformat(), last.id) if len(rows) > limit else None}


def item(row: Schedule, today: date) -> dict[str, Any]:
    status = "urgent" if row.urgent else ("overdue" if row.due_date < today else "due")
    return {"archive_no": row.archive_no, "village_code": row.village_code, "institution_code": row.institution_code,
            "responsible_doctor": row.responsible_doctor, "programme": row.programme, "service": row.service,
            "service_label": LABELS.get((row.programme, row.service)), "status": status, "due_date": row.due_date,
            "days_overdue": max(0, (today - row.due_date).days), "reason": row.due_reason,
            "reason_text": REASONS.get(row.due_reason or ""), "urgent": row.urgent,
            "urgent_triggers": list(row.urgent_triggers or []), "last_date": row.last_date,
            "consecutive_unsatisfactory": row.consecutive_unsatisfactory}
