"""Suggestions, not silent enrolment: a record naming a programme's condition (a hospital diagnosis
I10-I13 or E11/E14, `conditions`) or a 健康体检表 whose readings meet the screening rule
(`screening`) puts the resident on the managing institution's list to confirm, with the evidence
(record id, type, date, condition); a doctor confirms (the resident is enrolled) or dismisses it
with a reason.

At most one suggestion per resident and programme is open (a unique partial index); further
evidence joins the open one. None is made while the resident is enrolled (or ended: resuming is
the clinician's call), for a record already used as evidence, or for a resident the programme
certainly excludes (under age, not a permanent resident).

    suggest_from(session, resident, record_changed_data)           -> 1 (suggestions made or added to)
    list_suggestions(session, scope, status="open", limit=50, cursor=None) -> {"items": [...], "next": ...}
    confirm(session, suggestion_id, {"enrolled_on": ...}, actor)   -> the enrolment
    dismiss(session, suggestion_id, "诊断已排除", actor)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.errors import InvalidTransition, NotFound
from shared.paging import check_limit, decode_cursor, encode_cursor

from services.programmes import eligibility, enrolments
from services.programmes.models import Enrolment, Resident, Suggestion
from services.programmes.residents import view
from services.programmes.scope import in_scope

# The conditions a record names (`shared.key_populations` CONDITIONS) -> the programme they suggest.
CONDITION_PROGRAMMES = {"hypertension": "hypertension", "type2_diabetes": "type2_diabetes",
                        "diabetes": "type2_diabetes"}
# What excludes a resident for certain; an unknown birth date does not (the doctor confirms).
EXCLUDING = ("birth_date",)


def candidates(data: Mapping[str, Any]) -> dict[str, list[dict]]:
    """programme -> evidence items from one `record_changed` payload."""
    facts = data.get("facts") or {}
    when = facts.get("visit_date") or data["occurred_at"].date()
    found: dict[str, list[dict]] = {}
    for kind, names in (("diagnosis", facts.get("conditions") or []), ("screening", facts.get("screening") or [])):
        for name in names:
            programme = CONDITION_PROGRAMMES.get(name)
            if programme:
                found.setdefault(programme, []).append({
                    "record_id": data["record_id"], "record_type": data["record_type"], "date": when.isoformat(),
                    "code": name, "kind": kind})
    return found


def suggest_from(session: Session, resident: Resident, data: Mapping[str, Any]) -> int:
    if data["action"] == "entered_in_error":
        return 0
    made = 0
    for programme, evidence in candidates(data).items():
        if _enrolled(session, resident, programme) or _used(session, resident, data["record_id"], programme):
            continue
        if resident.known:
            when = date.fromisoformat(evidence[0]["date"])
            if set(eligibility.problems(programme, view(resident), when)) & set(EXCLUDING):
                continue
        session.execute(pg_insert(Suggestion).values(resident_id=resident.id, programme=programme, status="open",
                                                     evidence=[])
                        .on_conflict_do_nothing(index_elements=["resident_id", "programme"],
                                                index_where=sa.text("status = 'open'")))
        suggestion = session.scalar(sa.select(Suggestion).where(
            Suggestion.resident_id == resident.id, Suggestion.programme == programme, Suggestion.status == "open")
            .with_for_update())
        suggestion.evidence = [*suggestion.evidence, *evidence]
        made += 1
    session.flush()
    return made


def _enrolled(session: Session, resident: Resident, programme: str) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(
        Enrolment.resident_id == resident.id, Enrolment.programme == programme)) > 0


def _used(session: Session, resident: Resident, record_id: str, programme: str) -> bool:
    """Whether a suggestion of this programme holds the record as evidence already (whatever its status)."""
    return session.scalar(sa.select(sa.func.count()).select_from(Suggestion).where(
        Suggestion.resident_id == resident.id, Suggestion.programme == programme,
        Suggestion.evidence.contains([{"record_id": record_id}]))) > 0


def list_suggestions(session: Session, scope: Mapping[str, Any], status: str = "open", programme: str | None = None,
                     village_code: str | None = None, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
    """One page of the suggestions of the caller's scope, newest first."""
    check_limit(limit)
    stmt = (sa.select(Suggestion, Resident).join(Resident, Resident.id == Suggestion.resident_id)
            .where(in_scope(scope, Resident.institution_code, Resident.village_code), Suggestion.status == status).order_by(Suggestion.id.desc()).limit(limit + 1))
    if programme:
        stmt = stmt.where(Suggestion.programme == programme)
    if village_code:
        stmt = stmt.where(Resident.village_code == village_code)
    if cursor:
        (last,) = decode_cursor(cursor, parts=1)
        stmt = stmt.where(Suggestion.id < int(last)) if last.isdigit() else stmt.where(sa.false())
    rows = session.execute(stmt).all()
    page = rows[:limit]
    return {"items": [suggestion_view(s, r) for s, r in page],
            "next": encode_cursor(page[-1][0].id) if len(rows) > limit else None}


def suggestion_view(suggestion: Suggestion, resident: Resident) -> dict[str, Any]:
    return {"suggestion_id": suggestion.id, "archive_no": resident.archive_no, "village_code": resident.village_code,
            "institution_code": resident.institution_code, "programme": suggestion.programme,
            "status": suggestion.status, "evidence": suggestion.evidence, "created_at": suggestion.created_at,
            "decided_by": suggestion.decided_by, "decided_at": suggestion.decided_at,
            "dismiss_reason": suggestion.dismiss_reason}


def get(session: Session, suggestion_id: int, lock: bool = False) -> tuple[Suggestion, Resident]:
    stmt = sa.select(Suggestion).where(Suggestion.id == suggestion_id)
    suggestion = session.scalar(stmt.with_for_update() if lock else stmt)
    if suggestion is None:
        raise NotFound("no such suggestion", {"suggestion_id": suggestion_id})
    resident = session.get(Resident, suggestion.resident_id)
    return suggestion, resident


def _require_open(suggestion: Suggestion) -> None:
    if suggestion.status != "open":
        raise InvalidTransition("the suggestion is settled already", {"status": suggestion.status})


def confirm(session: Session, suggestion_id: int, data: Mapping[str, Any], actor: Actor) -> Resident:
    """Enrol the suggested resident (eligibility as for any enrolment); the suggestion is confirmed.
    Answers the resident."""
    suggestion, resident = get(session, suggestion_id, lock=True)
    _require_open(suggestion)
    resident = session.scalar(sa.select(Resident).where(Resident.id == resident.id).with_for_update())
    enrolments.enrol(session, resident, {**data, "programme": suggestion.programme}, actor, source="suggestion")
    return resident


def dismiss(session: Session, suggestion_id: int, reason: str, actor: Actor) -> dict[str, Any]:
    suggestion, resident = get(session, suggestion_id, lock=True)
    _require_open(suggestion)
    suggestion.status, suggestion.dismiss_reason = "dismissed", reason
    suggestion.decided_by, suggestion.decided_at = actor.user, datetime.now(timezone.utc)
    session.flush()
    return suggestion_view(suggestion, resident)
